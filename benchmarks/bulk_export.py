"""Replicate the example bundles (examples/fhir) into N patients: a FHIR Bulk Data export, for measuring
partitions (docs/scaling.md), or one FHIR Bundle, for `mesokg import-fhir` (benchmarks/run.py).

The patients are the example bundles replicated in turn, each copy with its own ids and the references
rewritten to them; Medication resources are shared (written once), as a server exports them.

    python benchmarks/bulk_export.py 10000 /tmp/export-10k            # a directory of NDJSON files
    python benchmarks/bulk_export.py 1000 /tmp/block.json --bundle    # one Bundle (type collection)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples" / "fhir"
# the base of every fullUrl in a written Bundle: absolute, so that `mesokg import-fhir` names each node by it
BUNDLE_BASE = "https://example.org/fhir-bench/"


def examples() -> list[dict]:
    """The example bundles, in file-name order (the order in which copies take turns)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]


def rewrite(node, names: dict[str, str]):
    """A copy of a resource with every reference it makes renamed (fullUrl or Type/id -> Type/new id)."""
    if isinstance(node, dict):
        return {k: (names.get(v, v) if k == "reference" else rewrite(v, names)) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite(v, names) for v in node]
    return node


def copies(count: int, tag: str = "") -> Iterator[list[dict]]:
    """The resources of each of `count` patients in turn: example `index % len(examples)`, every id but a
    Medication's given the suffix `-{index}{tag}`, references renamed to match. A Medication keeps its id
    (the copies share it): the caller writes it once."""
    bundles = examples()
    for index in range(count):
        bundle = bundles[index % len(bundles)]
        names = {}
        for number, entry in enumerate(bundle["entry"]):
            resource = entry["resource"]
            kind = resource["resourceType"]
            new = (
                resource.get("id", f"e{number}")
                if kind == "Medication"
                else f"{resource.get('id', number)}-{index}{tag}"
            )
            for old in (entry.get("fullUrl"), f"{kind}/{resource.get('id')}"):
                if old:
                    names[old] = f"{kind}/{new}"
        resources = []
        for entry in bundle["entry"]:
            resource = rewrite(entry["resource"], names)
            before = entry["resource"].get("id")
            resource["id"] = names[f"{resource['resourceType']}/{before}" if before else entry["fullUrl"]].split(
                "/", 1
            )[1]
            resources.append(resource)
        yield resources


def unique(count: int, tag: str = "") -> Iterator[dict]:
    """Every resource of `count` copies, each shared Medication only the first time."""
    shared: set[str] = set()
    for resources in copies(count, tag):
        for resource in resources:
            if resource["resourceType"] == "Medication":
                if resource["id"] in shared:
                    continue
                shared.add(resource["id"])
            yield resource


def write_export(count: int, target: Path) -> None:
    """A Bulk Data export of `count` patients: `target/{ResourceType}.ndjson`."""
    target.mkdir(parents=True, exist_ok=True)
    streams: dict[str, object] = {}
    try:
        for resource in unique(count):
            kind = resource["resourceType"]
            if kind not in streams:
                streams[kind] = (target / f"{kind}.ndjson").open("w", encoding="utf-8")
            streams[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
    finally:
        for stream in streams.values():
            stream.close()


def write_bundle(count: int, target: Path, tag: str = "") -> None:
    """One Bundle of `count` patients, each entry's fullUrl `BUNDLE_BASE` + Type/id; `tag` ends every id
    but a shared Medication's (run.py renames it to replicate the imported triples)."""
    entries = [{"fullUrl": f"{BUNDLE_BASE}{r['resourceType']}/{r['id']}", "resource": r} for r in unique(count, tag)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    target.write_text(json.dumps(bundle, separators=(",", ":")) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replicate examples/fhir into N patients.")
    parser.add_argument("count", type=int, help="number of patients")
    parser.add_argument("target", type=Path, help="directory of the export (or the Bundle file, with --bundle)")
    parser.add_argument("--bundle", action="store_true", help="write one FHIR Bundle instead of an export")
    parser.add_argument("--tag", default="", help="text appended to every id but a Medication's (with --bundle)")
    args = parser.parse_args(argv)
    if args.bundle:
        write_bundle(args.count, args.target, args.tag)
    else:
        write_export(args.count, args.target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
