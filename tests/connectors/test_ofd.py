"""OFD documents (GB/T 33190): the real files of the shared corpus (e-invoices, a certificate,
prose, rotated text), and a scanned OFD made here: one page holding one picture, as scanning
systems write them."""

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from connectors import ConnectorError, ErrorCategory, ReadOptions, read_document

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
needs_gov = pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")
NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _text(document) -> str:
    return "\n".join(section.text for section in document.sections)


@needs_gov
def test_real_ofd_files_page_by_page() -> None:
    prose = read_document(GOV / "ofdrw_nalaizhuyi_page6.ofd")
    assert (prose.file_type, prose.pages) == ("ofd", 2)
    assert [section.page for section in prose.sections] == [1, 2]
    assert prose.sections[0].text.startswith("拿来主义\n鲁迅\n中国一向是所谓“闭关主义”")
    invoice = read_document(GOV / "ofdrw_zhejiang-vat-einvoice_1.ofd")
    text = _text(invoice)
    # Runs on one baseline make one line; labels stacked one character per line are one word.
    assert "发票号码：83089647" in text and "开票日期：2020年07月23日" in text
    assert "购买方" in text and "纳税人识别号：91320115MA202UKD7X" in text
    fapiao = _text(read_document(GOV / "rust-ofd2png_fapiao.ofd"))
    assert "*中成药*小柴胡颗粒" in fapiao and "价税合计（大写）" in fapiao
    certificate = read_document(GOV / "ofdrw_real-estate-certificate_keyword.ofd")
    assert "不动产证明第0014777号" in _text(certificate) and certificate.author == "admin"
    # Text drawn over a template picture is read from its text; the picture is not OCR'd.
    bureau = read_document(GOV / "ofdrw_lincang-land-bureau.ofd")
    assert "临沧市临翔区自然资源局" in _text(bureau) and bureau.pages_ocr == 0
    assert "一二三四" in _text(read_document(GOV / "ofdrw_horizontal-text-suwell.ofd"))


def _scanned_ofd(path: Path, picture: bytes, suffix: str = "jpg") -> Path:
    """An OFD of one A4 page whose only content is a picture covering it."""
    parts = {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} Version="1.0" DocType="OFD"><ofd:DocBody>'
        "<ofd:DocInfo><ofd:DocID>scan</ofd:DocID><ofd:Title>扫描件</ofd:Title></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData>'
        "<ofd:MaxUnitID>3</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
        '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        "Doc_0/DocumentRes.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {NS} BaseLoc="Res">'
        f'<ofd:MultiMedias><ofd:MultiMedia ID="2" Type="Image"><ofd:MediaFile>scan.{suffix}</ofd:MediaFile>'
        "</ofd:MultiMedia></ofd:MultiMedias></ofd:Res>",
        "Doc_0/Pages/Page_0/Content.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Content>'
        '<ofd:Layer ID="1"><ofd:ImageObject ID="3" ResourceID="2" Boundary="0 0 210 297" CTM="210 0 0 297 0 0"/>'
        "</ofd:Layer></ofd:Content></ofd:Page>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in parts.items():
            package.writestr(name, text.encode("utf-8"))
        package.writestr(f"Doc_0/Res/scan.{suffix}", picture)
    return path


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_scanned_page_with_ocr_off_is_no_text_and_says_so(tmp_path: Path) -> None:
    scan = _scanned_ofd(tmp_path / "scan.ofd", _jpeg(Image.new("L", (200, 280), 255)))
    with pytest.raises(ConnectorError) as caught:
        read_document(scan, ReadOptions(ocr=False))
    assert caught.value.category is ErrorCategory.NO_TEXT and "OCR is off" in caught.value.message


def test_a_blank_scanned_page_is_found_and_decoded_without_running_ocr(tmp_path: Path) -> None:
    scan = _scanned_ofd(tmp_path / "blank.ofd", _jpeg(Image.new("L", (200, 280), 255)))
    with pytest.raises(ConnectorError) as caught:
        read_document(scan)
    assert caught.value.category is ErrorCategory.NO_TEXT and "OCR found no text" in caught.value.message


@pytest.mark.slow
@needs_gov
def test_a_scanned_page_is_read_by_ocr(tmp_path: Path) -> None:
    scan = _scanned_ofd(tmp_path / "scan.ofd", (GOV / "rapidocr_en.jpg").read_bytes())
    document = read_document(scan)
    assert (document.title, document.pages, document.pages_ocr) == ("扫描件", 1, 1)
    assert document.sections[0].ocr and document.sections[0].page == 1
    assert "MovieShots" in document.sections[0].text


@pytest.mark.parametrize(
    ("parts", "category"),
    [
        ({"readme.txt": "no OFD.xml in this zip"}, ErrorCategory.CORRUPT),
        ({"OFD.xml": "<ofd:OFD broken"}, ErrorCategory.CORRUPT),
        ({"OFD.xml": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><OFD/>'}, ErrorCategory.CORRUPT),
    ],
)
def test_damaged_packages_raise_a_typed_error(tmp_path: Path, parts: dict[str, str], category) -> None:
    target = tmp_path / "damaged.ofd"
    with zipfile.ZipFile(target, "w") as package:
        for name, text in parts.items():
            package.writestr(name, text)
    with pytest.raises(ConnectorError) as caught:
        read_document(target)
    assert caught.value.category is category


def test_bytes_that_are_no_zip_are_corrupt(tmp_path: Path) -> None:
    (tmp_path / "garbage.ofd").write_bytes(b"not an OFD file")
    with pytest.raises(ConnectorError) as caught:
        read_document(tmp_path / "garbage.ofd")
    assert caught.value.category is ErrorCategory.CORRUPT
