"""Write a FHIR Bulk Data export of N patients, for measuring partitions (docs/scaling.md).

The patients are the example bundles (examples/fhir) replicated in turn, each copy with its own ids and the
references rewritten to them; Medication resources are shared (written once), as a server exports them.

    python benchmarks/bulk_export.py 10000 /tmp/export-10k
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples" / "fhir"


def rewrite(node, names: dict[str, str]):
    """A copy of a resource with every reference it makes renamed (fullUrl or Type/id -> Type/new id)."""
    if isinstance(node, dict):
        return {k: (names.get(v, v) if k == "reference" else rewrite(v, names)) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite(v, names) for v in node]
    return node


def main(count: int, target: Path) -> None:
    bundles = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    target.mkdir(parents=True, exist_ok=True)
    streams: dict[str, object] = {}
    shared: set[str] = set()
    try:
        for index in range(count):
            bundle = bundles[index % len(bundles)]
            names = {}
            for number, entry in enumerate(bundle["entry"]):
                resource = entry["resource"]
                kind = resource["resourceType"]
                new = (
                    resource.get("id", f"e{number}")
                    if kind == "Medication"
                    else f"{resource.get('id', number)}-{index}"
                )
                for old in (entry.get("fullUrl"), f"{kind}/{resource.get('id')}"):
                    if old:
                        names[old] = f"{kind}/{new}"
            for entry in bundle["entry"]:
                resource = rewrite(entry["resource"], names)
                kind = resource["resourceType"]
                before = entry["resource"].get("id")
                resource["id"] = names[f"{kind}/{before}" if before else entry["fullUrl"]].split("/", 1)[1]
                if kind == "Medication":
                    if resource["id"] in shared:
                        continue
                    shared.add(resource["id"])
                if kind not in streams:
                    streams[kind] = (target / f"{kind}.ndjson").open("w", encoding="utf-8")
                streams[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
    finally:
        for stream in streams.values():
            stream.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
