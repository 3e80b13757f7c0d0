"""The auditor's HTML in a real headless Chromium: it renders, and nothing leaves the file.

Chromium is started with every request routed to a local proxy that answers 403 and records
what was asked: an offline report must make that list empty. (Mapping host resolution to
nowhere instead would hide requests rather than record them: Chromium then fails them before
they reach the proxy.) The browser's own calls home (update and time checks to Google's
hosts) are not the page's and are set aside by host.
"""

import os
import re
import shutil
import socket
import subprocess
import threading

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

BROWSER_OWN_HOSTS = re.compile(r"^\S+ (https?://)?[^/\s]*\b(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)\b")

pytestmark = pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"),
                                reason="Chromium not installed (CI installs Debian's chromium)")


class RecordingProxy:
    """A TCP listener standing in for the network: it records each request line and closes."""

    def __init__(self):
        self.requests: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.requests.append(connection.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace"))
                    connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.requests.append("(connection without a request line)")

    def page_requests(self) -> list[str]:
        return [r for r in self.requests if not BROWSER_OWN_HOSTS.search(r)]

    def close(self):
        self.server.close()


@pytest.fixture
def browser(tmp_path):
    assert CHROMIUM, "CI must install Chromium (see .ci/run)"
    proxy = RecordingProxy()

    def run(url, *flags):
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--disable-default-apps", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
                   f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>",
                   "--virtual-time-budget=5000", *flags, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    yield run, proxy
    proxy.close()


def test_index_and_a_report_render_offline_with_no_request(sample_run, browser, tmp_path):
    _, run_dir = sample_run
    run, proxy = browser
    index = run(f"file://{run_dir / 'index.html'}", "--dump-dom")
    assert index.returncode == 0, index.stderr
    for control_id, count in {"CC1.4": 3, "CC6.2": 14, "CC8.1": 17}.items():
        assert f"<td>{control_id}</td>" in index.stdout
        assert f'<td class="number">{count}</td>' in index.stdout.split(f"<td>{control_id}</td>", 1)[1]

    report = run(f"file://{run_dir / '20_offboarding' / 'report.html'}", "--dump-dom")
    assert "deprovisioned_within_sla" in report.stdout and "4 of 29 record(s) failed" in report.stdout
    screenshot = tmp_path / "offboarding.png"
    shot = run(f"file://{run_dir / '20_offboarding' / 'report.html'}", f"--screenshot={screenshot}",
               "--window-size=1280,2400", "--hide-scrollbars")
    assert shot.returncode == 0 and screenshot.stat().st_size > 20_000, shot.stderr
    assert proxy.page_requests() == []


def test_the_recorder_sees_a_page_that_reaches_for_the_network(browser, tmp_path):
    run, proxy = browser
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://cdn.example/x.png">'
                    '<script src="https://cdn.example/require.js"></script></body></html>')
    run(f"file://{page}", "--dump-dom")
    assert {r.split()[1] for r in proxy.page_requests()} >= {"http://cdn.example/x.png", "cdn.example:443"}
