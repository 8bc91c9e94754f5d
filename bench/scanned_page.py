"""A scanned-looking, image-only PDF page with known Chinese text, for measuring OCR.

The text is drawn with WenQuanYi Micro Hei (Debian package ``fonts-wqy-microhei``) at 200 dpi,
then degraded as a cheap office scan is: slightly rotated, blurred, speckled and saved as JPEG.
``tests/fixtures/scanned-zh.pdf`` was made with this script:

    apt-get install -y fonts-wqy-microhei
    .venv/bin/python bench/scanned_page.py tests/fixtures/scanned-zh.pdf
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DPI = 200

# Written for this benchmark in the style of a municipal notice; one paragraph per item.
TEXT_ZH = [
    "关于加强城市供水设施安全管理的通知",
    "各区人民政府、市政府各部门：为进一步加强城市供水设施的安全管理，保障居民生活用水和生产用水安全，"
    "根据国家有关法律法规，结合本市实际，现将有关事项通知如下。",
    "一、供水企业应当建立健全水质检测制度，每月对出厂水和管网水进行检测，检测结果应当按时报送主管部门，"
    "并向社会公开。发现水质异常时，应当立即采取措施并报告。",
    "二、任何单位和个人不得擅自改装、拆除或者迁移城市供水设施。因工程建设确需改装、拆除或者迁移的，"
    "建设单位应当报经主管部门批准，并承担所需费用。",
    "三、本通知自二〇二四年三月一日起施行，由市水务局负责解释。",
]


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for char in text:
        if draw.textlength(line + char, font=font) > width:
            lines.append(line)
            line = char
        else:
            line += char
    return lines + [line] if line else lines


def scanned_page(paragraphs: list[str], seed: int = 0) -> Image.Image:
    """An A4 page at 200 dpi holding ``paragraphs``, degraded like a scan."""
    width, height = int(8.27 * DPI), int(11.69 * DPI)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), size=int(12 / 72 * DPI))  # 12 pt
    margin, y = int(DPI), int(DPI)
    for paragraph in paragraphs:
        for line in _wrap(draw, paragraph, font, width - 2 * margin):
            draw.text((margin, y), line, font=font, fill=20)
            y += int(font.size * 1.6)
        y += font.size
    rng = np.random.default_rng(seed)
    page = page.rotate(0.4, resample=Image.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(0.7))
    pixels = np.asarray(page, dtype=np.int16) + rng.normal(0, 12, (height, width)).astype(np.int16)
    speckles = rng.random((height, width)) < 0.002
    pixels[speckles] = 90
    page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=55)
    return Image.open(buffer)


def write_pdf(paragraphs: list[str], path: Path, seed: int = 0) -> None:
    """An image-only PDF (no text layer) of one scanned page."""
    scanned_page(paragraphs, seed).save(path, "PDF", resolution=DPI)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    write_pdf(TEXT_ZH, parser.parse_args().out)
