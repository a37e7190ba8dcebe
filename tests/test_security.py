"""TLS (verify by default, a private CA, or insecure) and HTTP auth (Basic, Digest, header)."""

import hashlib
import json
import ssl
import textwrap
from pathlib import Path

import pytest
import trustme
from werkzeug.wrappers import Response

from .cli import ffsim
from .servers import WerkzeugReceiver

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-Pa55"


def run(tmp_path, profile: str, url: str):
    text = (ROOT / "scenarios" / "misread-corrected.yaml").read_text()
    path = tmp_path / "s.yaml"
    path.write_text(text + "profiles:\n" + textwrap.indent(textwrap.dedent(profile), "  "))
    return ffsim("run", path, "--http", url, "--speed", "max", "--json", "--quiet", "--drain", "3s")


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    folder = tmp_path_factory.mktemp("ca")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def test_https_with_the_private_ca(tmp_path, tls):
    context, ca_file = tls
    with WerkzeugReceiver(ssl_context=context) as rx:
        result = run(tmp_path, f"- {{id: 1, image: none, ca_file: {json.dumps(str(ca_file))}}}\n", rx.url)
    assert result.returncode == 0, result.stderr
    assert len(rx.requests) == 4


def test_https_verifies_by_default(tmp_path, tls):
    context, _ = tls
    with WerkzeugReceiver(ssl_context=context) as rx:
        result = run(tmp_path, "- {id: 1, image: none}\n", rx.url)
    assert result.returncode == 1
    assert "certificate failed verification" in result.stderr and "Traceback" not in result.stderr
    assert rx.requests == []


def test_https_insecure_accepts_a_self_signed_receiver(tmp_path, tls):
    context, _ = tls
    with WerkzeugReceiver(ssl_context=context) as rx:
        result = run(tmp_path, "- {id: 1, image: none, insecure: true}\n", rx.url)
    assert result.returncode == 0, result.stderr
    assert len(rx.requests) == 4


def basic_check(request):
    auth = request.authorization
    if auth is None or auth.type != "basic" or (auth.username, auth.password) != ("camera", SECRET):
        return Response("who?", status=401, headers={"WWW-Authenticate": 'Basic realm="ffsim"'})
    return None


def digest_check(request):
    auth = request.authorization
    challenge = Response("who?", status=401, headers={
        "WWW-Authenticate": 'Digest realm="ffsim", nonce="n0nce", qop="auth", algorithm=MD5'})
    if auth is None or auth.type != "digest":
        return challenge
    p = auth.parameters
    ha1 = hashlib.md5(f"camera:ffsim:{SECRET}".encode()).hexdigest()
    ha2 = hashlib.md5(f"POST:{p['uri']}".encode()).hexdigest()
    good = hashlib.md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}".encode()).hexdigest()
    return None if p.get("username") == "camera" and p.get("response") == good else challenge


def header_check(request):
    return None if request.headers.get("X-Auth-Key") == SECRET else Response("who?", status=401)


@pytest.mark.parametrize(
    "check, profile",
    [
        (basic_check, f"- {{id: 1, image: none, auth: {{type: basic, user: camera, password: {SECRET}}}}}\n"),
        (digest_check, f"- {{id: 1, image: none, auth: {{type: digest, user: camera, password: {SECRET}}}}}\n"),
        (header_check, f"- {{id: 1, image: none, auth_header: {{value: {SECRET}}}}}\n"),
    ],
    ids=["basic", "digest", "header"],
)
def test_auth(tmp_path, check, profile):
    with WerkzeugReceiver(check=check) as rx:
        result = run(tmp_path, profile, rx.url)
    assert result.returncode == 0, result.stderr
    assert len(rx.requests) == 4
    with WerkzeugReceiver(check=check) as rx:
        wrong = run(tmp_path, profile.replace(SECRET, "wrong"), rx.url)
    assert wrong.returncode == 1 and rx.requests == []
    assert json.loads(wrong.stdout)["profiles"]["1"]["failed"] > 0
    for output in (result.stdout, result.stderr, wrong.stdout, wrong.stderr):
        assert SECRET not in output and "wrong" not in output


# -- the operator's terminal: characters that disguise text (issue 8, item 8's sibling) --------------

# bidi embeddings, overrides and isolates, marks, zero-width characters, the BOM, the soft hyphen, a tag
# character, line and paragraph separators: nothing of their own on screen, but they reorder or hide text
DISGUISING = ("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d\u2060"
              "\ufeff\u00ad\U000e0041\u2028\u2029")


def test_printable_shows_bidi_and_other_format_characters_as_escapes():
    from ffsim.terminal import printable

    assert printable("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"
    assert printable("\u2066A\u2069\U000e0041") == "\\u2066A\\u2069\\U000e0041"
    for char in DISGUISING:
        shown = printable(f"a{char}b")
        assert char not in shown and shown.startswith("a\\") and shown.endswith("b"), (char, shown)
    # letters of any script, combining accents and symbols stay as they are
    assert printable("KA-Ü 123 京 ß Řež e\u0301 ١٢٣ €") == "KA-Ü 123 京 ß Řež e\u0301 ١٢٣ €"


def test_a_plate_with_a_bidi_override_is_escaped_in_the_live_lines_of_run(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text((ROOT / "scenarios" / "misread-corrected.yaml").read_text(encoding="utf-8")
                    .replace("{text: 5SX2287,", '{text: "5SX\\u202e7822",', 1), encoding="utf-8")
    assert '{text: "5SX\\u202e7822",' in path.read_text(encoding="utf-8")
    with WerkzeugReceiver() as rx:
        result = ffsim("run", path, "--http", rx.url, "--speed", "max", "--drain", "3s")
    assert result.returncode == 0, result.stderr
    assert "5SX\\u202e7822" in result.stdout
    assert not any(char in result.stdout + result.stderr for char in DISGUISING)


@pytest.mark.parametrize("url", ["http://cam:Top/Secret99@host/", "http://cam:Top@Secret99@host/x",
                                 "http://cam:TopSecret99@host:80/a@b"])
def test_a_password_is_never_shown_even_when_it_breaks_the_url(url):
    from ffsim.transport.targets import shown_url

    assert "Secret99" not in shown_url(url) and shown_url(url).startswith("http://cam:***@")
    result = ffsim("run", ROOT / "scenarios" / "misread-corrected.yaml", "--http", url, "--json")
    assert result.returncode == 1 and "Secret99" not in result.stdout + result.stderr, result.stderr
