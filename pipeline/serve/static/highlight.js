// Which parts of a hit's text to mark for a query: the words of the query in Latin (and other
// alphabetic) scripts, and for Chinese, Japanese and Korean the query's characters, since those
// scripts have no spaces between words. This mirrors what BM25 matches: stems in English, and
// for Chinese single characters plus character pairs. Pairs get a strong mark, lone characters
// a light one, so a matched word stands out from characters that merely occur.

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;
const WORD = /[\p{L}\p{N}]+/gu;
const ENGLISH_STOP = new Set(
  ("a an and are as at be by can do does for from how i in is it its of on or that the this to was " +
   "what when where which who why will with").split(" "),
);
// Characters too common in Chinese questions to mean anything alone.
const CJK_STOP = new Set(Array.from("的了是在和与及或吗呢吧啊么什哪谁怎样为有个这那也就都而之其"));

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// "approved" and "approval" -> "approv", "budgets" -> "budget": enough to meet Snowball's stems in the text.
function stem(word) {
  for (const suffix of ["ations", "ation", "ings", "ing", "ies", "ied", "als", "al", "es", "ed", "ly", "s"]) {
    if (word.length - suffix.length >= 4 && word.endsWith(suffix)) return word.slice(0, -suffix.length);
  }
  return word;
}

export function queryTerms(query) {
  const words = new Set();
  const pairs = new Set();
  const chars = new Set();
  const withoutCjk = query.replace(CJK, (run) => {
    const points = Array.from(run);
    points.forEach((ch, i) => {
      if (!CJK_STOP.has(ch)) chars.add(ch);
      if (i + 1 < points.length) pairs.add(ch + points[i + 1]);
    });
    return " ";
  });
  for (const [word] of withoutCjk.matchAll(WORD)) {
    const lower = word.toLowerCase();
    if (lower.length >= 2 && !ENGLISH_STOP.has(lower)) words.add(stem(lower));
  }
  return { words: [...words], pairs, chars };
}

// [start, end, strength] ranges of `text` (UTF-16 offsets), sorted and not overlapping;
// strength is "strong" (a word or a character pair) or "weak" (a lone character).
export function highlightRanges(text, query) {
  const { words, pairs, chars } = queryTerms(query);
  const marks = new Array(text.length).fill(0); // 0 none, 1 weak, 2 strong
  if (words.length) {
    const pattern = new RegExp(
      `(?<![\\p{L}\\p{N}])(?:${words.map(escapeRegExp).join("|")})[\\p{L}\\p{N}]*`, "giu",
    );
    for (const match of text.matchAll(pattern)) {
      marks.fill(2, match.index, match.index + match[0].length);
    }
  }
  if (pairs.size || chars.size) {
    for (const match of text.matchAll(CJK)) {
      const points = Array.from(match[0]);
      const offsets = [];
      let offset = match.index;
      for (const point of points) {
        offsets.push(offset);
        offset += point.length;
      }
      offsets.push(offset);
      points.forEach((point, i) => {
        if (i + 1 < points.length && pairs.has(point + points[i + 1])) {
          marks.fill(2, offsets[i], offsets[i + 2]);
        } else if (chars.has(point) && marks[offsets[i]] === 0) {
          marks.fill(1, offsets[i], offsets[i + 1]);
        }
      });
    }
  }
  const ranges = [];
  for (let i = 0; i < marks.length; ) {
    if (!marks[i]) { i += 1; continue; }
    let j = i;
    while (j < marks.length && marks[j] === marks[i]) j += 1;
    ranges.push([i, j, marks[i] === 2 ? "strong" : "weak"]);
    i = j;
  }
  return ranges;
}

// Fill `element` with `text`, the ranges wrapped in <mark>; text nodes only, never HTML.
export function renderHighlighted(element, text, ranges) {
  element.replaceChildren();
  let cursor = 0;
  for (const [start, end, strength] of ranges) {
    if (start > cursor) element.append(text.slice(cursor, start));
    const mark = document.createElement("mark");
    if (strength === "weak") mark.className = "weak";
    mark.textContent = text.slice(start, end);
    element.append(mark);
    cursor = end;
  }
  if (cursor < text.length) element.append(text.slice(cursor));
}
