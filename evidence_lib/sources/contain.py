"""Containment: every file a load reads lies inside the evidence folder.

A declaration is data from whoever assembled the folder. `path: ../../etc/shadow`, an absolute
path, or a symbolic link out of the folder would make the workbench read (and quote in its
messages, and hash into the package) something that is not this period's evidence.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from evidence_lib.errors import DeclarationError, ProblemsError, located

_WHAT_TO_DO = "copy the export into the evidence folder and declare its path relative to the folder"


def resolve_inside(folder: Path, reference: str, declared_in: str, where: str,
                   error: type[ProblemsError] = DeclarationError) -> Path:
    """The real path `reference` names under `folder`, or `error` when it would leave the folder."""
    reference = str(reference)
    if "\x00" in reference or not reference.strip():
        raise error([located(declared_in, f"{where}: not a usable file path", _WHAT_TO_DO)])
    if PurePosixPath(reference).is_absolute() or PureWindowsPath(reference).is_absolute() or \
            PureWindowsPath(reference).drive or reference.startswith("~"):
        raise error([located(declared_in, f"{where}: an absolute path; evidence is declared relative to the "
                                          "evidence folder", _WHAT_TO_DO)])
    root = Path(folder).resolve()
    try:
        resolved = (root / reference).resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        raise error([located(declared_in, f"{where}: the path cannot be resolved (a symbolic link loop?)",
                             _WHAT_TO_DO)]) from None
    if resolved == root or not resolved.is_relative_to(root):
        lexical = PurePosixPath(reference.replace("\\", "/"))
        how = "'..' leads" if ".." in lexical.parts else "a symbolic link leads"
        raise error([located(declared_in, f"{where}: {how} outside the evidence folder", _WHAT_TO_DO)])
    return resolved


def relative_name(folder: Path, resolved: Path) -> str:
    """A path inside the folder as the manifest names it: relative, with forward slashes."""
    return resolved.relative_to(Path(folder).resolve()).as_posix()
