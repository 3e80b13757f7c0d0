"""A page of the package printed to PDF by headless Chromium, the browser the tests check it in.

The page is opened from its file with every request routed to a proxy that is not there, so the
PDF shows what the offline page shows: nothing is fetched and nothing leaves the machine. The
page's print stylesheet (notebooks/templates/auditor/tables.css) fits every table to A4 or Letter
paper, repeats header rows and prints rows a filter hid; there is no header or footer with the
page's machine path, only page numbers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from evidence_lib.errors import EvidenceError, shorten

#: the names Chromium is installed under (Debian: chromium; others: chromium-browser, Google Chrome)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: a proxy nobody serves (the discard port): every request the page might make fails here
NO_NETWORK = "http://127.0.0.1:9"
#: seconds one page may take to print
TIMEOUT_SECONDS = 120


class PdfError(EvidenceError):
    """A page could not be printed to PDF: no Chromium, or Chromium failed on the page."""


def find_chromium() -> str:
    """The Chromium executable on PATH, or a PdfError saying how to get one."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(f"no Chromium to print PDFs with (looked on PATH for {', '.join(CHROMIUM_NAMES)}) — install "
                   "Debian's chromium (apt-get install chromium) or Google Chrome, or run without --pdf")


def chromium_command(chromium: str, html: Path, pdf: Path, profile: Path, proxy: str = NO_NETWORK) -> list[str]:
    """Headless Chromium printing `html` to `pdf` with a throwaway profile and every request sent to `proxy`."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}",
            f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>",
            "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]


def print_to_pdf(html: Path, pdf: Path, *, proxy: str = NO_NETWORK, timeout: float = TIMEOUT_SECONDS) -> Path:
    """Print the page `html` to `pdf` (replaced whole, never left half-written) and return `pdf`.

    `proxy` is where Chromium sends any request: by default nowhere; a test passes a recording one."""
    html, pdf = Path(html), Path(pdf)
    if not html.is_file():
        raise PdfError(f"{html}: no such page to print — render the package's HTML first")
    chromium = find_chromium()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evidence-pdf-") as work:
        printed = Path(work) / "page.pdf"
        try:
            finished = subprocess.run(chromium_command(chromium, html, printed, Path(work) / "profile", proxy),
                                      capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PdfError(f"{html}: Chromium did not print the page within {timeout:g} s — "
                           "open it in a browser to see what it waits for") from None
        if finished.returncode != 0 or not printed.is_file() or printed.stat().st_size == 0:
            raise PdfError(f"{html}: Chromium could not print the page (exit {finished.returncode}): "
                           f"{shorten(finished.stderr.strip(), 600) or 'no message'} — "
                           "check that `chromium --headless --print-to-pdf` works on this machine")
        # Copied beside the target, then renamed over it: a reader never sees half a PDF.
        beside = pdf.with_name(f".{pdf.name}.tmp")
        shutil.copyfile(printed, beside)
        os.replace(beside, pdf)
    return pdf
