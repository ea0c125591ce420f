"""The shell blocks of docs/compose.md run from the directory they say.

Each block starts at the repository root (where a reader is after cloning) and
follows its own `cd`. A `docker compose` command needs docker-compose.yml in its
directory; `cp` needs its source; a redirect needs its directory; a path written
into compose/.env (`NAME=./path`) must exist or be made by the block, relative to
compose/, where docker compose reads it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "compose.md"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def check_block(block: str, repo: Path = REPO) -> list[str]:
    problems, cwd, made = [], repo, set()
    for raw in block.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        line = line.strip("()")
        for part in [p.strip() for p in re.split(r";|&&", line) if p.strip()]:
            words = shlex.split(part, comments=True)
            if not words:
                continue
            if words[0] == "cd":
                cwd = (cwd / words[1]).resolve()
                if not cwd.is_dir():
                    problems.append(f"cd {words[1]}: no such directory")
            elif words[:2] == ["docker", "compose"] and "-f" not in words:
                if not (cwd / "docker-compose.yml").is_file():
                    problems.append(f"{part!r} runs in {cwd.relative_to(repo)}, which has no docker-compose.yml")
            elif words[0] == "mkdir":
                made |= {(cwd / w).resolve() for w in words[1:] if not w.startswith("-")}
            elif words[0] == "cp" and not (cwd / words[1]).exists():
                problems.append(f"cp: {words[1]} does not exist in {cwd.relative_to(repo)}")
            for op in (">>", ">"):
                if op in words:
                    target = (cwd / words[words.index(op) + 1]).resolve()
                    if not (target.parent.is_dir() or target.parent in made):
                        problems.append(f"{part!r}: no directory {target.parent}")
                    made.add(target)
                    for w in words:
                        m = re.fullmatch(r"[A-Z_]+=(\.{1,2}/\S+)", w)
                        if m and target.name == ".env":
                            ref = (target.parent / m.group(1)).resolve()
                            if not (ref.exists() or ref in made):
                                problems.append(f"{w}: {ref} is neither in the repository nor made above")
                    break
    return problems


@pytest.mark.parametrize("block", shell_blocks(DOC.read_text()), ids=lambda b: b.splitlines()[0][:40])
def test_doc_block_runs_where_it_says(block):
    assert check_block(block) == []


def test_checker_catches_the_old_alertmanager_block():
    old = ("llmpulse alerts alertmanager --webhook-url http://my-receiver:8080 > compose/my-alertmanager.yml\n"
           "echo ALERTMANAGER_CONFIG=./my-alertmanager.yml >> compose/.env\n"
           "docker compose up -d alertmanager\n")
    assert check_block(old) == ["'docker compose up -d alertmanager' runs in ., which has no docker-compose.yml"]
    assert check_block("cd compose\necho X=./nowhere.yml >> .env\n")[0].startswith("X=./nowhere.yml")
