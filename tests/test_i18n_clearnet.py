"""The clearnet "how to reach us" pages (deploy/clearnet): every language, in its own script,
nothing loaded from elsewhere, the advice the issue asks for, and, served by a real nginx
with our snippets, an Onion-Location header pointing at the onion in the same language."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from i18n_checks import read_page, script_problems

CLEARNET = Path(__file__).resolve().parent.parent / "deploy" / "clearnet"
SITE = CLEARNET / "site"
LANGUAGES = {
    "en": ("English", "ltr"),
    "fr": ("Français", "ltr"),
    "zh-Hans": ("简体中文", "ltr"),
    "zh-Hant": ("繁體中文", "ltr"),
    "ug": ("ئۇيغۇرچە", "rtl"),
    "bo": ("བོད་ཡིག", "ltr"),
}
ONION = "sealdropcleartest" + "a" * 38 + "d.onion"
FINGERPRINT = "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567"
# Names that must appear verbatim on every page: where to get Tor Browser and bridges, and
# the channels never to use (Chinese pages name WeChat as 微信).
REQUIRED = (
    "torproject.org",
    "gettor@torproject.org",
    "@gettor_bot",
    "GetTor",
    "Onion Browser",
    "Snowflake",
    "bridges.torproject.org",
    "bridges@torproject.org",
    "@GetBridgesBot",
    "frontdesk@torproject.org",
    "QQ",
    "163",
    "__ONION_ADDRESS__",
    "__OPENPGP_FINGERPRINT__",
    "Android",
)


def page(tag: str) -> str:
    """The committed page for a language."""
    return (SITE / f"{tag}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("tag", LANGUAGES)
def test_each_language_reads_in_its_own_script_and_direction(tag: str) -> None:
    parsed = read_page(page(tag))
    assert parsed.html_lang == tag
    assert parsed.html_dir == LANGUAGES[tag][1]
    assert script_problems(tag, parsed) == []


@pytest.mark.parametrize("tag", LANGUAGES)
def test_each_page_gives_the_trusted_channels_and_warnings(tag: str) -> None:
    text = page(tag)
    wechat = "微信" if tag.startswith("zh") else "WeChat"
    missing = [name for name in (*REQUIRED, wechat) if name not in text]
    assert missing == []


@pytest.mark.parametrize("tag", LANGUAGES)
def test_each_page_links_every_language_by_its_own_name(tag: str) -> None:
    text = page(tag)
    for other, (name, direction) in LANGUAGES.items():
        assert f'href="{other}.html"' in text
        assert f'lang="{other}" ' in text
        assert f">{name}</a>" in text
        assert (SITE / f"{other}.html").is_file()
        assert direction in ("ltr", "rtl")


@pytest.mark.parametrize("name", sorted(p.name for p in SITE.iterdir()))
def test_no_script_and_nothing_from_elsewhere(name: str) -> None:
    text = (SITE / name).read_text(encoding="utf-8")
    if name.endswith(".css"):
        assert "url(" not in text
        assert "@import" not in text
        assert "@font-face" not in text
        return
    parsed = read_page(text)
    assert parsed.scripts == 0
    assert parsed.external == []
    assert "<script" not in text.lower()
    assert re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE) is None  # no event handlers


def test_onion_address_and_receipt_like_values_are_isolated_left_to_right() -> None:
    for tag in LANGUAGES:
        text = page(tag)
        assert '<bdi dir="ltr"><code class="onion">__ONION_ADDRESS__</code></bdi>' in text


def run_install(*args: str) -> subprocess.CompletedProcess[str]:
    """Run deploy/clearnet/install.sh with arguments."""
    return subprocess.run(
        ["sh", str(CLEARNET / "install.sh"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    "bad",
    [
        "example.onion",
        ONION.upper(),
        ONION + "/x",
        ONION.replace("d.onion", "1.onion"),
        ONION.replace("d.onion", ".onion"),
        "'; rm -rf /",
    ],
)
def test_install_refuses_what_is_not_a_v3_onion_address(bad: str, tmp_path: Path) -> None:
    result = run_install(bad, FINGERPRINT, str(tmp_path / "site"), str(tmp_path / "nginx"))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert not (tmp_path / "site").exists()


def test_install_fills_in_the_address_everywhere(tmp_path: Path) -> None:
    result = run_install(ONION, FINGERPRINT, str(tmp_path / "site"), str(tmp_path / "nginx"))
    assert result.returncode == 0, result.stderr
    for tag in LANGUAGES:
        text = (tmp_path / "site" / f"{tag}.html").read_text(encoding="utf-8")
        assert "__" not in text
        assert ONION in text
        assert FINGERPRINT in text
    headers = (tmp_path / "nginx" / "snippets" / "sealdrop-clearnet-headers.conf").read_text()
    assert f"http://{ONION}/" in headers


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx_site(tmp_path: Path) -> str:
    """The installed pages served by a real nginx on loopback with our snippets; its URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (.ci/run installs nginx-light)")
    site, conf_dir = tmp_path / "site", tmp_path / "nginx"
    assert run_install(ONION, FINGERPRINT, str(site), str(conf_dir)).returncode == 0
    port = free_port()
    temp = tmp_path / "run"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process off;
pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{ worker_connections 32; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {conf_dir}/conf.d/sealdrop-clearnet-map.conf;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        include {conf_dir}/snippets/sealdrop-clearnet-headers.conf;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""
    )
    check = subprocess.run(
        [nginx, "-t", "-p", str(temp), "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([nginx, "-p", str(temp), "-c", str(conf)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL; status, headers and body (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize(
    ("path", "onion_path"),
    [
        ("/", "/"),
        ("/en.html", "/"),
        ("/fr.html", "/?lang=fr"),
        ("/zh-Hans.html", "/?lang=zh-Hans"),
        ("/zh-Hant.html", "/?lang=zh-Hant"),
        ("/ug.html", "/?lang=ug"),
        ("/bo.html", "/?lang=bo"),
        ("/style.css", "/"),
        ("/missing.html", "/"),
    ],
)
def test_nginx_sends_onion_location_to_the_same_language(
    nginx_site: str, path: str, onion_path: str, tmp_path: Path
) -> None:
    status, headers, body = fetch(nginx_site + path)
    assert status == (404 if "missing" in path else 200)
    assert headers["Onion-Location"] == f"http://{ONION}{onion_path}"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Server"] == "nginx"  # server_tokens off: no version
    if path.endswith(".html") and status == 200:
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        served = (tmp_path / "site" / path.lstrip("/")).read_bytes()
        assert body == served


def test_the_example_https_site_is_valid_nginx_configuration(tmp_path: Path) -> None:
    """`nginx -t` accepts the example site as install.sh writes it (with a throwaway
    certificate in place of the Let's Encrypt one)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    openssl = shutil.which("openssl")
    if not Path(nginx).exists() or openssl is None:
        pytest.skip("nginx or openssl is not installed (.ci/run installs nginx-light)")
    site, conf_dir = tmp_path / "site", tmp_path / "nginx"
    assert run_install(ONION, FINGERPRINT, str(site), str(conf_dir)).returncode == 0
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [openssl, *request, "-subj", "/CN=x", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    example = (conf_dir / "sites-available" / "sealdrop-clearnet").read_text()
    example = example.replace("/etc/letsencrypt/live/reach.example.org/fullchain.pem", str(cert))
    example = example.replace("/etc/letsencrypt/live/reach.example.org/privkey.pem", str(key))
    example = example.replace("/srv/sealdrop-clearnet", str(site))
    (conf_dir / "sites-enabled").mkdir()
    (conf_dir / "sites-enabled" / "sealdrop-clearnet").write_text(example)
    temp = tmp_path / "run"
    temp.mkdir()
    (conf_dir / "nginx.conf").write_text(
        f"""
pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{ worker_connections 32; }}
http {{
    include /etc/nginx/mime.types;
    include conf.d/*.conf;
    include sites-enabled/*;
}}
"""
    )
    check = subprocess.run(
        [nginx, "-t", "-p", str(conf_dir), "-c", str(conf_dir / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert (
        "Onion-Location" in (conf_dir / "snippets" / "sealdrop-clearnet-headers.conf").read_text()
    )
