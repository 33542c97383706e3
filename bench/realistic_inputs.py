"""Realistic filings for the service benchmark: four documents per filing, every file's bytes distinct.

A filing, as a court cabinet receives one:
  - `Заявление о пересмотре.docx`: the application, Times New Roman 14 pt, A4, margins
    30/10/20/20 mm, single spacing, justified Russian text: 3, 4 or 5 pages (by filing number,
    counted by LibreOffice on samples); ends with its list of attachments naming the three other
    files with their page counts, and a signature;
  - `Копия решения суда.pdf`: a scanned copy, 10 A4 pages at 300 dpi, greyscale, each page a
    baseline JPEG at quality 60 wrapped by img2pdf (as scanner software writes them: one
    DCTDecode image per page, the page box from the image's dpi);
  - `Доверенность представителя.pdf`: a 2-page text PDF drawn by reportlab in DejaVu Serif 14 pt
    (the writer of fixtures/generate_filings.py), fonts embedded;
  - `Квитанция об оплате госпошлины.jpg`: an A4 greyscale JPEG scan, 300 dpi for even filing
    numbers and 200 dpi for odd ones, quality 80.

Scan pages are drawn by `fixtures/generate_scans.render_text_page` (dense body text in DejaVu
Serif 14 pt, 1:1 scale) and made to look scanned once per base page: off-white paper and grey
ink, a slight blur (scanner optics), sensor noise. Each filing's page then gets a line of its own
(case number, sheet number) and a shift of a few pixels before it is JPEG-encoded, so no two
pages, and no two files, have the same bytes; the texts of the DOCX and the text PDF are shuffled
and numbered per filing. Sizes (`--stats`, the 460 filings of a default service bench run): DOCX
38,742–39,471 B, scanned PDF 6,291,043–6,338,315 B, text PDF 52,118–53,675 B, JPEG 460,496–848,700
B; 6.8–7.3 MB a filing; 1,840 files, 1,840 distinct sha256.

Files are cached in bench/.cache/realistic/<n>/ (ignored by git), keyed by a version string:
regenerating is only needed when this script changes.

    python bench/realistic_inputs.py [--filings 460] [--stats] [--count-docx-pages 3]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import io
import random
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache" / "realistic"
VERSION = "4"  # bump when the documents change: the cache is keyed by it

APPLICATION = "Заявление о пересмотре.docx"
SCANNED_PDF = "Копия решения суда.pdf"
TEXT_PDF = "Доверенность представителя.pdf"
SCAN_JPEG = "Квитанция об оплате госпошлины.jpg"
NAMES = (APPLICATION, SCANNED_PDF, TEXT_PDF, SCAN_JPEG)
SCAN_PAGES = 10
BASE_PAGES = 16  # distinct scanned texts, shared out among the filings' pages
JPEG_QUALITY_PDF = 60
JPEG_QUALITY_PHOTO = 80

SENTENCES = [
    "Решением Алмалинского районного суда города Алматы от {d1} года в удовлетворении иска к ТОО «Алатау Құрылыс» о взыскании задолженности в сумме {sum} тенге было отказано.",
    "Суд исходил из того, что акт выполненных работ от {d2} года подписан сторонами без возражений и подтверждает исполнение обязательств ответчиком в полном объёме.",
    "{d3} года заявителю стало известно, что указанный акт был подписан лицом, не имевшим полномочий действовать от имени заказчика, что подтверждается справкой с места работы.",
    "Данное обстоятельство существовало на момент рассмотрения дела, имеет существенное значение для его правильного разрешения и не было и не могло быть известно заявителю.",
    "В соответствии с частью второй статьи 451 Гражданского процессуального кодекса Республики Казахстан вновь открывшимися обстоятельствами признаются существенные для дела обстоятельства, которые не были и не могли быть известны заявителю.",
    "Заявление подано в пределах трёхмесячного срока, исчисляемого со дня установления обстоятельств, служащих основанием для пересмотра, как того требует статья 452 Кодекса.",
    "Представитель ответчика в судебном заседании не оспаривал, что работник, подписавший акт, был уволен за две недели до даты его составления, однако суд не дал этому оценки.",
    "Свидетель {name} в своих показаниях пояснил, что объект не был принят в эксплуатацию, а недостатки работ не устранены до настоящего времени.",
    "Заключением строительно-технической экспертизы № {num} установлено, что фактический объём выполненных работ не соответствует объёму, указанному в акте.",
    "Ответчик уклонялся от предоставления исполнительной документации, ссылаясь на её утрату, что лишило истца возможности своевременно представить доказательства.",
    "Согласно выписке из Национального реестра бизнес-идентификационных номеров полномочия директора товарищества прекращены решением единственного участника от {d2} года.",
    "Таким образом, решение суда основано на документе, подписанном неуполномоченным лицом, и подлежит отмене с пересмотром дела по существу.",
    "Заявитель просит учесть, что он своевременно обращался к ответчику с претензией, на которую ответа получено не было, а также к уполномоченному органу по делам строительства.",
    "Размер государственной пошлины, уплаченной при подаче заявления, соответствует подпункту 8 пункта 1 статьи 610 Налогового кодекса Республики Казахстан.",
    "Копии заявления и приложенных к нему документов направлены лицам, участвующим в деле, что подтверждается квитанциями об отправке заказной корреспонденции.",
    "Истец полагает, что при рассмотрении дела суд неполно выяснил обстоятельства, имеющие значение для дела, и сделал выводы, не соответствующие фактическим обстоятельствам.",
]
NAMES_POOL = [
    "Ахметов Б. С.",
    "Петрова Н. В.",
    "Жумабаев Е. К.",
    "Ким О. Л.",
    "Сейткали А. М.",
    "Орлов Д. И.",
]
MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября"]

# Body paragraphs (four sentences, about 700 characters each) for an application of 3, 4 or 5
# pages (filing number mod 3), as LibreOffice lays it out (checked with `--count-docx-pages`).
BODY_PARAGRAPHS = {3: 8, 4: 12, 5: 15}


def _fixture(name: str) -> Any:
    """A fixture generator loaded from fixtures/ (a folder of scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _fill(template: str, rng: random.Random, n: int) -> str:
    def date() -> str:
        return f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.choice((2023, 2024, 2025))}"

    return template.format(
        d1=date(),
        d2=date(),
        d3=date(),
        sum=f"{rng.randint(100, 99_000) * 1000:,}".replace(",", " "),
        name=rng.choice(NAMES_POOL),
        num=f"{n}-{rng.randint(10, 999)}",
    )


def _paragraphs(n: int, count: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        picks = rng.sample(SENTENCES, 4)
        out.append(" ".join(_fill(s, rng, n) for s in picks))
    return out


def application_pages(n: int) -> int:
    return 3 + n % 3


def write_application(path: Path, n: int) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    gf = _fixture("generate_filings")
    rng = random.Random(f"application-{n}")
    doc = gf._docx_base()  # Times New Roman 14 pt, single spacing
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(10)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    for line in gf.RU_APPLICATION_HEAD:
        gf._para(doc, line, right=True)
    gf._para(doc, f"Дело № 2-{1000 + n}/2026", right=True)
    gf._para(doc, gf.RU_APPLICATION_TITLE, bold=True, centre=True)
    gf._para(doc, gf.RU_APPLICATION_SUBTITLE, centre=True)
    for text in _paragraphs(n, BODY_PARAGRAPHS[application_pages(n)], rng):
        gf._para(doc, text)
        p = doc.paragraphs[-1]
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        p.paragraph_format.first_line_indent = Mm(12.5)
    gf._para(doc, "На основании изложенного, руководствуясь статьями 451–457 ГПК Республики Казахстан,")
    gf._para(doc, "ПРОШУ: отменить решение суда и пересмотреть дело по вновь открывшимся обстоятельствам.")
    gf._para(doc, "Приложение:")
    for k, (title, pages) in enumerate(
        (
            ("Копия решения суда", SCAN_PAGES),
            ("Доверенность представителя", 2),
            ("Квитанция об оплате госпошлины", 1),
        ),
        start=1,
    ):
        gf._para(doc, f"{k}. {title} на {pages} л.;")
    for line in gf.SIGN_RU:
        gf._para(doc, line)
    doc.save(str(path))


def write_text_pdf(path: Path, n: int) -> None:
    gf = _fixture("generate_filings")
    gf.Pdf()  # registers the DejaVu Serif faces
    rng = random.Random(f"poa-{n}")
    lines = [gf.POA[0], f"№ {n:05d}-Д, {_fill('{d1}', rng, n)} года"]
    for line in gf.POA[1:]:
        lines.append(line)
    for text in _paragraphs(n, 6, rng):
        lines += textwrap.wrap(text, 58)
    first, second = lines[:31], lines[31:62]
    second += [f"Доверенность № {n:05d}-Д выдана сроком на три года.", *gf.SIGN_RU]
    gf.Pdf.write(path, [first, second])


@functools.cache
def _base_page(dpi: int, k: int) -> Any:
    """A scanned-looking page of text (the k-th text), before its filing's own marks."""
    from PIL import ImageFilter

    gs = _fixture("generate_scans")
    words = gs.TEXT.split()
    shift = (k * 37) % len(words)
    text = " ".join(words[shift:] + words[:shift])
    saved, gs.TEXT = gs.TEXT, text  # render_text_page sets the module's TEXT
    try:
        page = gs.render_text_page(dpi)
    finally:
        gs.TEXT = saved
    page = gs.contrast(page, paper=238, ink=45).filter(ImageFilter.GaussianBlur(1.0))
    return gs.add_noise(page, 1.0, seed=k)


def _scan_page(dpi: int, k: int, n: int, sheet: int, quality: int) -> bytes:
    """Base page k with filing n's own line and shift, as JPEG bytes at `dpi`."""
    from PIL import ImageChops, ImageDraw, ImageFont

    gs = _fixture("generate_scans")
    page = ImageChops.offset(_base_page(dpi, k), (n * 3 + sheet) % 9 - 4, (n * 5 + sheet) % 7 - 3)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(gs.font_path(), round(10 / 72 * dpi))
    draw.text(
        (30 / 25.4 * dpi, 8 / 25.4 * dpi), f"Дело № 2-{1000 + n}/2026 · лист {sheet}", fill=60, font=font
    )
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=quality, dpi=(dpi, dpi))
    return buffer.getvalue()


def write_scanned_pdf(path: Path, n: int) -> None:
    import img2pdf

    pages = [_scan_page(300, (n * 7 + s) % BASE_PAGES, n, s + 1, JPEG_QUALITY_PDF) for s in range(SCAN_PAGES)]
    path.write_bytes(img2pdf.convert(pages))


def scan_jpeg_dpi(n: int) -> int:
    return 300 if n % 2 == 0 else 200


def write_scan_jpeg(path: Path, n: int) -> None:
    path.write_bytes(_scan_page(scan_jpeg_dpi(n), n % 4, n, 1, JPEG_QUALITY_PHOTO))


def _filing_dir(n: int) -> Path:
    return CACHE / f"{n:04d}"


def _write_filing(n: int) -> None:
    folder = _filing_dir(n)
    stamp = folder / ".done"
    if stamp.is_file() and stamp.read_text() == VERSION:
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_application(folder / APPLICATION, n)
    write_scanned_pdf(folder / SCANNED_PDF, n)
    write_text_pdf(folder / TEXT_PDF, n)
    write_scan_jpeg(folder / SCAN_JPEG, n)
    stamp.write_text(VERSION)


def ensure(count: int, jobs: int = 2) -> list[Path]:
    """The folders of filings 0..count-1, generated (in `jobs` processes) where missing."""
    missing = [
        n
        for n in range(count)
        if not ((_filing_dir(n) / ".done").is_file() and (_filing_dir(n) / ".done").read_text() == VERSION)
    ]
    if missing:
        print(f"realistic inputs: generating {len(missing)} filings in {CACHE} …", flush=True)
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_write_filing, missing, chunksize=8))
    return [_filing_dir(n) for n in range(count)]


def filing_files(n: int) -> list[tuple[str, bytes]]:
    folder = _filing_dir(n)
    return [(name, (folder / name).read_bytes()) for name in NAMES]


def stats(count: int) -> dict[str, Any]:
    """Sizes per document (min, median, max bytes) and the check that every file is distinct."""
    sizes: dict[str, list[int]] = {name: [] for name in NAMES}
    digests: set[str] = set()
    files = 0
    for n in range(count):
        for name, data in filing_files(n):
            sizes[name].append(len(data))
            digests.add(hashlib.sha256(data).hexdigest())
            files += 1
    out: dict[str, Any] = {"filings": count, "files": files, "distinct_sha256": len(digests)}
    for name, values in sizes.items():
        values.sort()
        out[name] = {"min": values[0], "median": values[len(values) // 2], "max": values[-1]}
    filing_sizes = sorted(sum(sizes[name][n] for name in NAMES) for n in range(count))
    out["filing_total"] = {
        "min": filing_sizes[0],
        "median": filing_sizes[count // 2],
        "max": filing_sizes[-1],
    }
    return out


def count_docx_pages(samples: Sequence[int]) -> dict[int, int]:
    """Pages of some applications as LibreOffice lays them out (to check the 3–5 page claim)."""
    from pypdf import PdfReader

    out: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in samples:
            subprocess.run(
                [
                    "soffice",
                    f"-env:UserInstallation=file://{tmp}/profile",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    f"{tmp}/{n}",
                    str(_filing_dir(n) / APPLICATION),
                ],
                check=True,
                capture_output=True,
                timeout=180,
            )
            out[n] = len(PdfReader(f"{tmp}/{n}/{Path(APPLICATION).stem}.pdf").pages)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filings", type=int, default=460)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stats", action="store_true", help="print sizes and the distinct-content count")
    parser.add_argument(
        "--count-docx-pages",
        type=int,
        default=0,
        metavar="N",
        help="lay out the first N applications with LibreOffice and print their pages",
    )
    args = parser.parse_args(argv)
    ensure(args.filings, args.jobs)
    if args.stats:
        print(stats(args.filings))
    if args.count_docx_pages:
        print(
            {
                n: (application_pages(n), pages)
                for n, pages in count_docx_pages(range(args.count_docx_pages)).items()
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
