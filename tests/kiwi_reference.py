"""What KIWI NG's own parser reads from the descriptions of its sdist: the reference.

Run with the python of a separate venv that has kiwi installed (never kiwi-like's):

    python kiwi_reference.py SDIST_DIR OUTPUT.json

Only the standard library and kiwi are imported. For every `<image>` description under
the sdist's build-tests/ and test/, and for every selection kiwi would build from it
(no --profile, that is the import="true" profiles, and each profile alone; each with
the default type and with every other type the selection offers), it writes what kiwi
reads: name, version, build type, the image/bootstrap/delete package lists and the
repository sources as kiwi's Uri translates them outside a build-service worker.
A description or selection kiwi refuses is written with kiwi's one-line reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

SEARCHED = ("build-tests", "test")
TIMEOUT = 30  # seconds for one kiwi call
IMAGE_ROOT = re.compile(rb"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<image[\s>]", re.DOTALL)


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout(f"kiwi did not answer within {TIMEOUT} s")


class _Details(logging.Handler):
    """kiwi logs why a description is invalid (the RelaxNG error, the schematron rule)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        if message.startswith("--> "):
            self.lines.append(message[4:])


DETAILS = _Details()


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    details = "; ".join(DETAILS.lines)
    return f"{type(error).__name__}: {text}" + (f" [{details}]" if details else "")


def _isolate_kiwi() -> None:
    """kiwi's defaults for this host, whatever its runtime config files and network say."""
    from kiwi import defaults
    from kiwi.system import uri

    for name in ("USR", "ETC"):
        setattr(defaults, f"{name}_RUNTIME_CONFIG_FILE", "/nonexistent/kiwi.yml")
        setattr(defaults, f"{name}_RUNTIME_CONFIG_DIR", "/nonexistent/kiwi.yml.d")
    defaults.CUSTOM_RUNTIME_CONFIG_FILE = None
    # Outside a build-service worker, whatever this host is.
    defaults.Defaults.is_buildservice_worker = staticmethod(lambda: False)

    class _Response:
        def __init__(self, url: str) -> None:
            self.url = url

        def raise_for_status(self) -> None:
            return None

    class _NoNetwork:
        """kiwi checks an obs:// download link online; the link is the fact compared."""

        @staticmethod
        def get(url: str, *args: Any, **kwargs: Any) -> _Response:
            return _Response(url)

    uri.requests = _NoNetwork


def descriptions(sdist: Path) -> list[Path]:
    found = []
    for folder in SEARCHED:
        for path in sorted((sdist / folder).rglob("*")):
            is_xml = path.suffix in (".xml", ".kiwi") and path.is_file()
            if is_xml and IMAGE_ROOT.match(path.read_bytes()[:4096]):
                found.append(path)
    return found


def _repository(repository: Any) -> dict[str, str]:
    from kiwi.system.uri import Uri

    source = repository.get_source().get_path()
    fact = {"source": source}
    try:
        fact["translated"] = Uri(source, repository.get_type() or "rpm-md").translate()
    except Exception as error:  # kiwi refuses it here (obsrepositories:/ outside a worker)
        fact["untranslated"] = _reason(error)
    return fact


def facts(xml_data: Any, profile: str | None, build_type: str | None) -> dict[str, Any]:
    from kiwi.xml_state import XMLState

    state = XMLState(xml_data, [profile] if profile else None, build_type)
    return {
        "profiles": list(state.profiles),
        "name": xml_data.get_name(),
        "version": state.get_image_version(),
        "type": state.get_build_type_name(),
        "packages": {
            "image": state.get_system_packages(),
            "bootstrap": state.get_bootstrap_packages(),
            "delete": state.get_to_become_deleted_packages(),
        },
        "repositories": [_repository(r) for r in state.get_repository_sections()],
    }


def _types(xml_data: Any, profile: str | None) -> list[str]:
    from kiwi.xml_state import XMLState

    state = XMLState(xml_data, [profile] if profile else None)
    names = [t.get_image() for p in state.get_preferences_sections() for t in p.get_type()]
    default = state.get_build_type_name()
    return [name for name in dict.fromkeys(names) if name != default]


def _call(function: Any, *args: Any) -> Any:
    DETAILS.lines.clear()
    signal.alarm(TIMEOUT)
    try:
        return function(*args)
    finally:
        signal.alarm(0)


def cases(sdist: Path, path: Path) -> list[dict[str, Any]]:
    from kiwi.xml_description import XMLDescription

    file = str(path.relative_to(sdist))
    try:
        xml_data = _call(lambda: XMLDescription(str(path)).load())
    except Exception as error:
        return [{"file": file, "error": _reason(error)}]
    profiles = [p.get_name() for section in xml_data.get_profiles() for p in section.get_profile()]
    records = []
    for profile in [None, *profiles]:
        selection = {"file": file, "profile": profile, "type": None}
        try:
            types = _call(_types, xml_data, profile)
        except Exception as error:
            records.append(selection | {"error": _reason(error)})
            continue
        for build_type in [None, *types]:
            case = selection | {"type": build_type}
            try:
                records.append(case | {"facts": _call(facts, xml_data, profile, build_type)})
            except Exception as error:
                records.append(case | {"error": _reason(error)})
    return records


def main(sdist: Path, output: Path) -> None:
    _isolate_kiwi()
    logger = logging.getLogger("kiwi")
    logger.handlers = [DETAILS]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    signal.signal(signal.SIGALRM, _alarm)
    records = [record for path in descriptions(sdist) for record in cases(sdist, path)]
    output.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ["HOME"] = "/nonexistent"  # no ~/.config/kiwi/config.yml
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
