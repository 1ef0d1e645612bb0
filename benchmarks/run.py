"""The mesokg benchmark: time and peak memory of each command on patient populations, written as markdown.

    python benchmarks/run.py [--sizes 1000 10000 100000] [--pyshacl-sizes 1000 10000] [--out docs/benchmarks.md]
                             [--fhir-sizes 2000 100000 1000000] [--fhir-pyshacl-sizes 2000] [--fhir-block 1000]
                             [--cold-repeat 5] [--workdir DIR] [--timeout 1800] [--seed 0] [--invalid-share 0.05]
                             [--steps NAME ...] [--skip NAME ...]

Two kinds of population: the generator's (benchmarks/generate.py) and one imported from FHIR (the example
bundles replicated into one Bundle, converted by `mesokg import-fhir`, the triples replicated to N patients),
where every patient is screened for one treatment; and one FHIR bundle, for the cold start of a command.

Every measured step is a child process of its own (wall time of the whole process, peak RSS from
`/usr/bin/time -v`, or from getrusage in a fresh wrapper process where that is missing). What is measured is a
list of `Step`s below: a new engine or flag is one more entry (and one more `Ratio` or target line if it should
be compared). Each step's output is kept in the work directory and checked against what the generator says the
population holds (non-conforming patients, screening findings), so a fast wrong answer does not pass unseen.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bulk_export  # noqa: E402  (the FHIR replicator beside this file)
import generate  # noqa: E402  (the generator beside this file)

ROOT = HERE.parent
PROBES = HERE / "probes.py"
GNU_TIME = Path("/usr/bin/time")
PACKAGES = ("mesokg", "rdflib", "pyshacl", "pyoxigraph", "oxigraph")
MB = 1024 * 1024


# ---- what is measured ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One command to time. `argv` may use {mesokg} (the CLI, possibly several words), {python}, {probes},
    {data} (the population file), {build} (the build directory), {kb} (the built graph, N-Triples),
    {kbstore} (an on-disk store holding the built graph), {store} (this size's on-disk store), {treatment}
    (the treatment every FHIR-imported patient is screened for) and {bundle} (the one bundle of the cold start)."""

    name: str
    argv: tuple[str, ...]
    sizes: str = "all"  # "all": every size of its kind; "reference": only the --pyshacl-sizes or --fhir-pyshacl-sizes
    ok_exits: tuple[int, ...] = (0,)
    check: str | None = None  # a key of CHECKS: how to verify the output
    fresh: tuple[str, ...] = ()  # placeholders of directories (inside the work directory) emptied first
    largest: int | None = None  # larger populations skip this step (it holds the whole population in memory)


def query_args(name: str, params: dict[str, str]) -> tuple[str, ...]:
    """`mesokg query` arguments for a named query with its parameters, answering in CSV."""
    return ("query", name, *(w for k, v in sorted(params.items()) for w in ("-p", f"{k}={v}")), "-f", "csv")


# the query the issue names, with the parameter the benchmark gives it
HEADLINE_QUERY = ("unsuitable-treatments", {"condition": "pregnancy"})
HEADLINE_ARGS = query_args(*HEADLINE_QUERY)
# exit 1 of validate and screen means "does not conform" / "something flagged": expected, not a failure
VALIDATION = {"ok_exits": (0, 1), "check": "validate"}
SCREENING = {"ok_exits": (0, 1), "check": "screen"}

# the largest population run in memory (one file, no store); above it only the on-disk store steps run
IN_MEMORY = 100_000
# every patient of the population imported from FHIR is screened for this treatment (as in issue 13)
TREATMENT = "mesokg:methylxanthine-cellulite-mesotherapy"
# the one record of the cold start: validated and screened, each run a new process
COLD_BUNDLE = bulk_export.EXAMPLES / "pregnant-type-2-diabetes-warfarin.json"

ONCE_STEPS = (
    Step("mesokg build", ("{mesokg}", "build", "-o", "{build}")),
    Step("mesokg build --store", ("{mesokg}", "build", "-o", "{build}", "--store", "{kbstore}"), fresh=("kbstore",)),
)
PER_SIZE_STEPS = (
    Step("mesokg validate", ("{mesokg}", "validate", "{data}", "-f", "json"), largest=IN_MEMORY, **VALIDATION),
    Step("mesokg screen", ("{mesokg}", "screen", "{data}", "-f", "json"), largest=IN_MEMORY, **SCREENING),
    Step(
        "mesokg validate --store (load + validate)",
        ("{mesokg}", "validate", "--store", "{store}", "{data}", "-f", "json"),
        fresh=("store",),
        **VALIDATION,
    ),
    Step("mesokg screen --store (loaded)", ("{mesokg}", "screen", "--store", "{store}", "-f", "json"), **SCREENING),
    Step(
        "mesokg query unsuitable-treatments --data",
        ("{mesokg}", *HEADLINE_ARGS, "--data", "{data}"),
        check="rows",
        largest=IN_MEMORY,
    ),
    Step(
        "mesokg query unsuitable-treatments --store", ("{mesokg}", *HEADLINE_ARGS, "--store", "{store}"), check="rows"
    ),
    Step(
        "mesokg validate --engine pyshacl",
        ("{mesokg}", "validate", "{data}", "-f", "json", "--engine", "pyshacl"),
        sizes="reference",
        **VALIDATION,
    ),
    Step(
        "mesokg screen --engine rdflib",
        ("{mesokg}", "screen", "{data}", "-f", "json", "--engine", "rdflib"),
        sizes="reference",
        **SCREENING,
    ),
    Step(
        "pySHACL (reference)",
        ("{python}", "{probes}", "pyshacl", "{data}", "--kb", "{kb}"),
        sizes="reference",
        check="pyshacl",
    ),
)


# on the population imported from FHIR; names used by the ratios and targets
FLOOR = "pyoxigraph bulk_load (floor)"
FHIR_VALIDATE = "mesokg validate"
FHIR_SCREEN_JSONL = "mesokg screen --treatment -f jsonl"
FHIR_SCREEN_JSON = "mesokg screen --treatment -f json"
FHIR_VALIDATE_STORE = "mesokg validate --store (load + validate)"
FHIR_SCREEN_STORE = "mesokg screen --store --treatment -f text (loaded)"
FHIR_ENGINE_PYSHACL = "mesokg validate --engine pyshacl"
PYSHACL = "pySHACL (reference)"
FHIR_STEPS = (
    Step(FLOOR, ("{python}", "{probes}", "oxigraph-load", "{data}"), check="triples", largest=IN_MEMORY),
    Step(FHIR_VALIDATE, ("{mesokg}", "validate", "{data}", "-f", "json"), largest=IN_MEMORY, **VALIDATION),
    Step(
        FHIR_SCREEN_JSONL,
        ("{mesokg}", "screen", "{data}", "--treatment", "{treatment}", "-f", "jsonl"),
        ok_exits=(0, 1),
        check="screen-jsonl",
        largest=IN_MEMORY,
    ),
    Step(
        FHIR_SCREEN_JSON,
        ("{mesokg}", "screen", "{data}", "--treatment", "{treatment}", "-f", "json"),
        largest=IN_MEMORY,
        **SCREENING,
    ),
    Step(
        FHIR_VALIDATE_STORE,
        ("{mesokg}", "validate", "--store", "{store}", "{data}", "-f", "json"),
        fresh=("store",),
        **VALIDATION,
    ),
    # -f jsonl does not take --store, and -f json repeats every reason for every patient (about 40 kB a patient
    # here: the pregnancy reason lists every ICD-10-CM code it matches), 40 GB at 1,000,000: text it is
    Step(
        FHIR_SCREEN_STORE,
        ("{mesokg}", "screen", "--store", "{store}", "--treatment", "{treatment}", "-f", "text"),
        ok_exits=(0, 1),
        check="screen-text",
    ),
    Step(
        FHIR_ENGINE_PYSHACL,
        ("{mesokg}", "validate", "{data}", "-f", "json", "--engine", "pyshacl"),
        sizes="reference",
        **VALIDATION,
    ),
    Step(PYSHACL, ("{python}", "{probes}", "pyshacl", "{data}", "--kb", "{kb}"), sizes="reference", check="pyshacl"),
)
COLD_VALIDATE = "mesokg validate BUNDLE -f json"
COLD_SCREEN = "mesokg screen BUNDLE --treatment -f json"
COLD_QUERY = "mesokg query unsuitable-treatments"
COLD_STEPS = (
    Step(COLD_VALIDATE, ("{mesokg}", "validate", "{bundle}", "-f", "json"), **VALIDATION),
    Step(COLD_SCREEN, ("{mesokg}", "screen", "{bundle}", "--treatment", "{treatment}", "-f", "json"), **SCREENING),
    Step(COLD_QUERY, ("{mesokg}", *HEADLINE_ARGS), check="rows"),
)
# what each kind of population runs
STEPS = {"generated": PER_SIZE_STEPS, "fhir": FHIR_STEPS}


@dataclass(frozen=True)
class WarmQuery:
    """A named query run `repeat` times in one process: on the built graph in rdflib (`run_query`), or on the
    on-disk store `mesokg build --store` filled (`run_store_query`)."""

    name: str
    params: dict[str, str]
    backend: str = "graph"  # graph | store
    repeat: int = 50


WARM_QUERIES = (WarmQuery(*HEADLINE_QUERY), WarmQuery(*HEADLINE_QUERY, backend="store"))


@dataclass(frozen=True)
class Ratio:
    """The summed time of the `slower` steps / that of the `faster` ones, per size of population `kind`, when all
    of them ran (a lower bound when one of the slower timed out)."""

    label: str
    slower: tuple[str, ...]
    faster: tuple[str, ...]
    kind: str = "generated"


RATIOS = (
    Ratio("pySHACL / mesokg validate", ("pySHACL (reference)",), ("mesokg validate",)),
    Ratio("--engine pyshacl / default engine", ("mesokg validate --engine pyshacl",), ("mesokg validate",)),
    Ratio("--engine rdflib / default engine", ("mesokg screen --engine rdflib",), ("mesokg screen",)),
    Ratio("(validate + screen -f jsonl) / floor", (FHIR_VALIDATE, FHIR_SCREEN_JSONL), (FLOOR,), "fhir"),
    Ratio("(validate + screen -f json) / floor", (FHIR_VALIDATE, FHIR_SCREEN_JSON), (FLOOR,), "fhir"),
    Ratio("validate / floor", (FHIR_VALIDATE,), (FLOOR,), "fhir"),
    Ratio("--engine pyshacl / mesokg validate", (FHIR_ENGINE_PYSHACL,), (FHIR_VALIDATE,), "fhir"),
    Ratio("pySHACL / mesokg validate", (PYSHACL,), (FHIR_VALIDATE,), "fhir"),
)
# the steps that together make "validate + screen, end to end", and "complete in an on-disk store", for the targets
END_TO_END = ("mesokg validate", "mesokg screen")
STORE_STEPS = ("mesokg validate --store (load + validate)", "mesokg screen --store (loaded)")


def kb_query_steps() -> list[Step]:
    """`mesokg query` for the headline query and every competency question (with its `# example:` values)."""
    from mesokg.queries import named_queries

    name, params = HEADLINE_QUERY
    wanted = [(name, params)] + [
        (query.name, query.example)
        for query in named_queries().values()
        if query.path.parent.name == "cq" and query.name != name
    ]
    return [Step(f"mesokg query {q}", ("{mesokg}", *query_args(q, p)), check="rows") for q, p in wanted]


# ---- running a step ------------------------------------------------------------------------------------------
@dataclass
class Measurement:
    step: str
    size: int | None
    status: str  # ok | timed out | failed (exit N) | cached
    wall_s: float | None = None
    rss_mb: float | None = None
    exit_code: int | None = None
    check: str = ""
    output: Path | None = None
    kind: str = ""  # generated | fhir | cold: the population it ran on ("" for the knowledge graph alone)


def mesokg_command() -> list[str]:
    """The mesokg CLI of this interpreter's environment."""
    script = Path(sys.executable).parent / "mesokg"
    if script.exists():
        return [str(script)]
    found = shutil.which("mesokg")
    return [found] if found else [sys.executable, "-c", "from mesokg.cli import main; main()"]


def expand(argv: tuple[str, ...], places: dict[str, str]) -> list[str]:
    words: list[str] = []
    for word in argv:
        if word == "{mesokg}":
            words += mesokg_command()
        else:
            words.append(word.format(**places))
    return words


def empty_directories(step: Step, places: dict[str, str], workdir: Path) -> None:
    """Remove the step's `fresh` directories, refusing any outside the work directory."""
    for name in step.fresh:
        path = Path(places[name]).resolve()
        if workdir.resolve() not in path.parents:
            raise SystemExit(f"run.py: refusing to empty {path}: not inside the work directory")
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)  # mesokg creates the store itself, but not its parents


def with_memory_probe(command: list[str], memory_file: Path) -> list[str]:
    """`command` wrapped so that its peak RSS ends up in `memory_file`."""
    if GNU_TIME.exists():
        return [str(GNU_TIME), "-v", "-o", str(memory_file), *command]
    return [sys.executable, str(PROBES), "rusage", "--out", str(memory_file), "--", *command]


def peak_rss_mb(memory_file: Path) -> float | None:
    """Peak RSS in MB from `/usr/bin/time -v` output, or from the rusage wrapper's single number (kB)."""
    if not memory_file.exists():
        return None
    text = memory_file.read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1]) / 1024
    return int(text.split()[0]) / 1024 if text.strip().isdigit() else None


def run_measured(
    name: str, command: list[str], outdir: Path, timeout: float, ok_exits=(0,), env: dict[str, str] | None = None
) -> Measurement:
    """Run `command` in its own process group, stdout and stderr to files; kill the group on timeout. `env`:
    variables set for the command on top of this process's environment."""
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    stdout, stderr, memory = (outdir / f"{slug}.{ext}" for ext in ("out", "err", "mem"))
    memory.unlink(missing_ok=True)
    environment = {**os.environ, **env} if env else None
    start = time.perf_counter()
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        process = subprocess.Popen(
            with_memory_probe(command, memory),
            stdout=out,
            stderr=err,
            cwd=ROOT,
            start_new_session=True,
            env=environment,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return Measurement(name, None, "timed out", wall_s=timeout, output=stdout)
    wall = time.perf_counter() - start
    status = "ok" if code in ok_exits else f"failed (exit {code})"
    return Measurement(name, None, status, wall, peak_rss_mb(memory), code, output=stdout)


# ---- checking outputs ----------------------------------------------------------------------------------------
# Each output is counted (patients, results, findings per status) and the counts compared with what the
# population holds: the generator's summary, or for the population imported from FHIR the example bundles'
# own counts times their copies. The outputs of a large population are gigabytes: they are read as a stream.
def verdict(found, expected) -> str:
    return f"{found} (expected {expected}) {'ok' if found == expected else 'MISMATCH'}"


def json_array_items(path: Path, key: str, chunk: int = 1 << 20) -> Iterator:
    """The items of the first array named `key` in a JSON document (`"key": [...]`), one at a time."""
    decoder = json.JSONDecoder()
    marker = re.compile(rf'"{re.escape(key)}"\s*:\s*\[')
    with open(path, encoding="utf-8") as stream:

        def more(buffer: str, position: int) -> tuple[str, int]:
            text = stream.read(chunk)
            if not text:
                raise ValueError(f"{path.name}: the {key!r} array ends early")
            return buffer[position:] + text, 0

        buffer, position = more("", 0)
        while (found := marker.search(buffer)) is None:
            buffer, position = more(buffer, 0)
        position = found.end()
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position == len(buffer):
                buffer, position = more(buffer, position)
                continue
            if buffer[position] == "]":
                return
            try:
                item, position = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError:
                buffer, position = more(buffer, position)  # an item across the end of the buffer
                continue
            yield item


def jsonl_records(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as stream:
        yield from (json.loads(line) for line in stream if line.strip())


def count_validation(output: Path) -> dict:
    """Patients with a sh:Violation, and the results per severity, of a `validate -f json` report."""
    violating, severities = set(), Counter()
    for result in json_array_items(output, "results"):
        severities[result["severity"]] += 1
        if result["severity"] == "Violation":
            violating.add(result["patient"])
    return {"violating": len(violating), "violations": severities["Violation"], "warnings": severities["Warning"]}


def count_screening(output: Path, fmt: str = "json") -> dict:
    """Patients and findings per status of a `screen` output: -f json, jsonl or text."""
    patients, statuses, declared = 0, Counter(), None
    if fmt == "text":
        status_line = re.compile(r"  ([A-Z]+) ")
        with open(output, encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("patient "):
                    patients += 1
                elif found := status_line.match(line):
                    statuses[found.group(1).lower()] += 1
    else:
        records = json_array_items(output, "patients") if fmt == "json" else jsonl_records(output)
        for record in records:
            if fmt == "jsonl" and record["type"] == "summary":
                declared = record["patients"]
            if fmt == "json" or record["type"] == "patient":
                patients += 1
                statuses.update(finding["status"] for finding in record["findings"])
    return {"patients": patients, "findings": dict(statuses), "declared": declared}


def check_validate(output: Path, summary: dict) -> str:
    """Patients with at least one sh:Violation, against the number known to be invalid (and the warnings, where
    the number expected is known)."""
    found = count_validation(output)
    warnings = found["warnings"]
    told = f"warnings {verdict(warnings, summary['warnings'])}" if "warnings" in summary else f"{warnings} warnings"
    return f"non-conforming patients {verdict(found['violating'], summary['invalid'])}; {told}"


def screening_verdict(found: dict, summary: dict) -> str:
    """Screening findings per status (and the patients screened, where known), against the expected ones."""
    expected = summary["findings"]
    statuses = sorted(set(found["findings"]) | set(expected))
    parts = [f"{status} {verdict(found['findings'].get(status, 0), expected.get(status, 0))}" for status in statuses]
    if "screened" in summary:
        parts.insert(0, f"patients {verdict(found['patients'], summary['screened'])}")
    if found["declared"] is not None and found["declared"] != found["patients"]:
        parts.append(f"MISMATCH: the summary record says {found['declared']} patients")
    return "; ".join(parts)


def check_screen(output: Path, summary: dict) -> str:
    return screening_verdict(count_screening(output, "json"), summary)


def check_screen_jsonl(output: Path, summary: dict) -> str:
    return screening_verdict(count_screening(output, "jsonl"), summary)


def check_screen_text(output: Path, summary: dict) -> str:
    return screening_verdict(count_screening(output, "text"), summary)


def check_pyshacl(output: Path, summary: dict) -> str:
    report = json.loads(output.read_text(encoding="utf-8"))
    return (
        f"non-conforming patients {verdict(report['violating_patients'], summary['invalid'])}; "
        f"{report['results']} results"
    )


def check_rows(output: Path, _: dict) -> str:
    with open(output, encoding="utf-8", newline="") as rows:
        count = max(sum(1 for _ in csv.reader(rows)) - 1, 0)
    return f"{count} row{'s' if count != 1 else ''}"


def check_triples(output: Path, summary: dict) -> str:
    return f"triples {verdict(json.loads(output.read_text(encoding='utf-8'))['triples'], summary['triples'])}"


CHECKS: dict[str, Callable[[Path, dict], str]] = {
    "validate": check_validate,
    "screen": check_screen,
    "screen-jsonl": check_screen_jsonl,
    "screen-text": check_screen_text,
    "pyshacl": check_pyshacl,
    "rows": check_rows,
    "triples": check_triples,
}


def checked(measurement: Measurement, step: Step, summary: dict) -> Measurement:
    if step.check and measurement.status == "ok" and measurement.output is not None:
        try:
            measurement.check = CHECKS[step.check](measurement.output, summary)
        except (ValueError, KeyError, OSError) as error:
            measurement.check = f"could not read the output: {error}"
    return measurement


# ---- populations ---------------------------------------------------------------------------------------------
@dataclass
class PopulationFile:
    size: int
    path: Path
    summary: dict
    generation: Measurement  # generated: the generator; fhir: the replication of the imported block
    kind: str = "generated"
    imported: Measurement | None = None  # fhir: `mesokg import-fhir` of the block


def population(size: int, args: argparse.Namespace, workdir: Path) -> PopulationFile:
    """The population of `size` patients, generated (and timed) unless an up-to-date copy is in `workdir`."""
    directory = workdir / "populations"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"patients-{size}-seed{args.seed}-invalid{args.invalid_share}"
    data, summary_file = directory / f"{stem}.nt", directory / f"{stem}.json"
    if is_current(data, summary_file, args):
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        return PopulationFile(size, data, summary, Measurement("generate", size, "cached"))
    command = [sys.executable, str(HERE / "generate.py"), str(size), "-o", str(data), "--summary", str(summary_file)]
    command += ["--seed", str(args.seed), "--invalid-share", str(args.invalid_share)]
    measurement = run_measured(f"generate-{size}", command, directory, args.timeout)
    measurement.step, measurement.size = "generate", size
    if measurement.status != "ok":
        raise SystemExit(f"run.py: generating {size} patients {measurement.status}; see {directory}")
    return PopulationFile(size, data, json.loads(summary_file.read_text(encoding="utf-8")), measurement)


def is_current(data: Path, summary_file: Path, args: argparse.Namespace) -> bool:
    """Whether a cached population was made with these parameters from the current sources."""
    if not (data.exists() and summary_file.exists()):
        return False
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    return (
        summary.get("seed") == args.seed
        and summary.get("invalid_share") == args.invalid_share
        and summary.get("source_digest") == generate.source_digest()
    )


# The population imported from FHIR: a block of B patients (the example bundles in turn, bulk_export.py) is
# written as one Bundle, every id ending in TILE_TAG, and converted by `mesokg import-fhir`; its triples are
# then written N/B times, the tag renamed in each copy (-t000001, ...), so every copy has its own nodes.
TILE_TAG = "-t000000"
TILING_VERSION = "1"
BLANK_NODE = re.compile(r"(?<![^\s])_:([A-Za-z0-9]+)")


def fhir_block(size: int, args: argparse.Namespace) -> int:
    return min(size, args.fhir_block)


def import_block(run: Run, block: int) -> tuple[str, Measurement]:
    """The block of `block` patients as N-Triples, imported by `mesokg import-fhir` (once per run)."""
    if block in run.blocks:
        return run.blocks[block]
    directory = run.workdir / "populations"
    directory.mkdir(parents=True, exist_ok=True)
    bundle, turtle = directory / f"fhir-block-{block}.json", directory / f"fhir-block-{block}.ttl"
    bulk_export.write_bundle(block, bundle, TILE_TAG)
    log(f"mesokg import-fhir of {block} patients")
    command = [*mesokg_command(), "import-fhir", str(bundle), "-o", str(turtle)]
    measurement = run_measured(f"import-fhir-{block}", command, directory, run.args.timeout)
    measurement.step, measurement.size = "mesokg import-fhir", block
    if measurement.status != "ok":
        raise SystemExit(f"run.py: mesokg import-fhir of {block} patients {measurement.status}; see {directory}")
    from pyoxigraph import RdfFormat, parse, serialize

    triples = serialize(parse(path=str(turtle), format=RdfFormat.TURTLE), format=RdfFormat.N_TRIPLES).decode()
    run.blocks[block] = (triples, measurement)
    return run.blocks[block]


def split_block(block_triples: str) -> tuple[list[str], list[str]]:
    """The block's lines that name nothing of one copy (written once), and those that do (written per copy)."""
    shared, own = [], []
    for line in block_triples.splitlines(keepends=True):
        (own if TILE_TAG in line or BLANK_NODE.search(line) else shared).append(line)
    return shared, own


def replicate(block_triples: str, copies: int, target: Path) -> None:
    """Write `copies` copies of the block to `target`, the tag (and any blank node) renamed in each; the triples
    that name nothing of a copy once."""
    shared, own = split_block(block_triples)
    text = "".join(own)
    partial = target.with_name(target.name + ".part")
    with open(partial, "w", encoding="utf-8", newline="\n") as out:
        out.writelines(shared)
        for copy in range(copies):
            tagged = text.replace(TILE_TAG, f"-t{copy:06d}")
            out.write(BLANK_NODE.sub(rf"_:\1c{copy}", tagged) if copy else tagged)
    partial.replace(target)


def fhir_population(run: Run, size: int) -> PopulationFile:
    """`size` patients imported from FHIR; the file is kept in the work directory for the same block."""
    block = fhir_block(size, run.args)
    block_triples, imported = import_block(run, block)
    copies = size // block
    digest = hashlib.sha256(f"{TILING_VERSION} {copies}\n{block_triples}".encode()).hexdigest()[:16]
    data = run.workdir / "populations" / f"fhir-{size}-block{block}-{digest}.nt"
    shared, own = split_block(block_triples)
    summary = {**fhir_expected(run, block, copies), "patients": size, "triples": len(shared) + copies * len(own)}
    started = time.perf_counter()
    if data.exists():
        made = Measurement("replicate", size, "cached")
    else:
        log(f"{size} patients from FHIR: replicating the imported block {copies} times")
        replicate(block_triples, copies, data)
        made = Measurement("replicate", size, "ok", wall_s=time.perf_counter() - started)
    return PopulationFile(size, data, summary, made, kind="fhir", imported=imported)


def example_expectations(run: Run) -> dict[str, dict]:
    """Per example bundle: what `mesokg validate` and `mesokg screen --treatment` say of it, read directly (once
    per run, untimed), the counts the population imported from FHIR is checked against."""
    if run.expected:
        return run.expected
    outdir = run.workdir / "runs" / "fhir-examples"
    outdir.mkdir(parents=True, exist_ok=True)
    for example in sorted(bulk_export.EXAMPLES.glob("*.json")):
        validated = run_measured(
            f"validate-{example.stem}", [*mesokg_command(), "validate", str(example), "-f", "json"], outdir, 600, (0, 1)
        )
        command = [*mesokg_command(), "screen", str(example), "--treatment", TREATMENT, "-f", "json"]
        screened = run_measured(f"screen-{example.stem}", command, outdir, 600, (0, 1))
        if validated.status != "ok" or screened.status != "ok":
            raise SystemExit(f"run.py: validating or screening {example} failed; see {outdir}")
        run.expected[example.name] = {**count_validation(validated.output), **count_screening(screened.output)}
    return run.expected


def fhir_expected(run: Run, block: int, copies: int, only: str | None = None) -> dict:
    """The expected counts of `copies` blocks of `block` patients (copy `index` of example `index % len`), or of
    the example named `only` once."""
    expected = example_expectations(run)
    names = sorted(expected)
    counts = {only: 1} if only else {name: copies * len(range(k, block, len(names))) for k, name in enumerate(names)}
    findings = Counter()
    for name, count in counts.items():
        findings.update({status: count * n for status, n in expected[name]["findings"].items()})
    return {
        "invalid": sum(count * min(expected[name]["violating"], 1) for name, count in counts.items()),
        "warnings": sum(count * expected[name]["warnings"] for name, count in counts.items()),
        "screened": sum(count * expected[name]["patients"] for name, count in counts.items()),
        "findings": dict(sorted(findings.items())),
    }


# ---- the run -------------------------------------------------------------------------------------------------
@dataclass
class ColdStart:
    """One command on one bundle, a new process each run: the first with an empty cache, then `runs` with the
    cache warm (after one untimed run)."""

    step: Step
    first: Measurement
    runs: list[Measurement]


@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    started: datetime
    commit: str
    load_before: str = ""
    populations: list[PopulationFile] = field(default_factory=list)
    once: list[Measurement] = field(default_factory=list)
    per_size: list[Measurement] = field(default_factory=list)
    warm: list[tuple[WarmQuery, Measurement, dict]] = field(default_factory=list)
    cold: list[ColdStart] = field(default_factory=list)
    blocks: dict[int, tuple[str, Measurement]] = field(default_factory=dict)
    expected: dict[str, dict] = field(default_factory=dict)


def matches(step_name: str, patterns: list[str] | None) -> bool:
    return any(p.lower() in step_name.lower() for p in patterns or ())


def wanted(run: Run, step_name: str) -> bool:
    """Whether --steps (if given) names the step and --skip does not."""
    return (not run.args.steps or matches(step_name, run.args.steps)) and not matches(step_name, run.args.skip)


def qualified(kind: str, step: Step) -> str:
    """The name --steps and --skip see: the step's after its population's kind ("fhir: mesokg validate")."""
    return f"{kind}: {step.name}"


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def run_step(
    run: Run, step: Step, places: dict[str, str], outdir: Path, summary: dict, env: dict[str, str] | None = None
) -> Measurement:
    """Empty the step's fresh directories, run it, check its output."""
    empty_directories(step, places, run.workdir)
    measurement = run_measured(step.name, expand(step.argv, places), outdir, run.args.timeout, step.ok_exits, env)
    return checked(measurement, step, summary)


def run_once_steps(run: Run, places: dict[str, str]) -> None:
    """The build (always; everything else needs it), then the knowledge-graph-only steps."""
    outdir = run.workdir / "runs"
    for k, step in enumerate((*ONCE_STEPS, *kb_query_steps())):
        if k > 0 and not wanted(run, step.name):
            continue
        log(step.name)
        measurement = run_step(run, step, places, outdir, {})
        run.once.append(measurement)
        if k == 0 and measurement.status != "ok":
            raise SystemExit(f"run.py: mesokg build {measurement.status}; see {outdir}")


def warm_cache(run: Run, places: dict[str, str]) -> None:
    """One untimed `mesokg validate` of a bundle, so that the on-disk cache holds the knowledge graph and the code
    tables before anything is measured (as on any machine where mesokg has run once)."""
    log("filling the on-disk cache (untimed)")
    command = [*mesokg_command(), "validate", places["bundle"], "-f", "json"]
    warmed = run_measured("cache warm-up", command, run.workdir / "runs", run.args.timeout, (0, 1))
    if warmed.status != "ok":
        raise SystemExit(f"run.py: the cache warm-up {warmed.status}; see {run.workdir / 'runs'}")


def run_warm_queries(run: Run, places: dict[str, str]) -> None:
    for warm in WARM_QUERIES:
        label = f"warm {warm.name} ({warm.backend})"
        if not wanted(run, label):
            continue
        log(f"{label} x{warm.repeat}")
        command = [sys.executable, str(PROBES), "warm-query", warm.name, "--kb", places["kb"]]
        command += [w for k, v in sorted(warm.params.items()) for w in ("-p", f"{k}={v}")]
        command += ["--repeat", str(warm.repeat)]
        command += ["--store", places["kbstore"]] if warm.backend == "store" else []
        measurement = run_measured(label, command, run.workdir / "runs", run.args.timeout)
        times = json.loads(measurement.output.read_text()) if measurement.status == "ok" else {}
        run.warm.append((warm, measurement, times))


def run_cold_start(run: Run, places: dict[str, str]) -> None:
    """Each cold-start command on one bundle, with a cache of its own in the work directory: once with the cache
    empty, once untimed, then --cold-repeat times with the cache warm; every run's output checked."""
    if run.args.cold_repeat < 1:
        return
    cache = run.workdir / "cache-cold"
    summary = fhir_expected(run, 1, 1, only=COLD_BUNDLE.name)
    for step in COLD_STEPS:
        if not wanted(run, qualified("cold", step)):
            continue
        outdir = run.workdir / "runs" / "cold" / "".join(c if c.isalnum() else "-" for c in step.name.lower())
        shutil.rmtree(cache, ignore_errors=True)
        env = {"MESOKG_CACHE_DIR": str(cache)}
        log(f"cold: {step.name}: empty cache, then {run.args.cold_repeat} runs")

        first = cold_run(run, step, places, outdir / "first", summary, env)
        cold_run(run, step, places, outdir / "warm-up", summary, env)
        runs = [cold_run(run, step, places, outdir / str(k), summary, env) for k in range(run.args.cold_repeat)]
        run.cold.append(ColdStart(step, first, runs))
        log(f"  median {seconds(median_wall(runs))}; first run {describe(first)}; {first.check}")


def cold_run(run: Run, step: Step, places: dict, outdir: Path, summary: dict, env: dict) -> Measurement:
    outdir.mkdir(parents=True, exist_ok=True)
    measurement = run_step(run, step, places, outdir, summary, env)
    measurement.kind = "cold"
    return measurement


def run_size(run: Run, kind: str, size: int, places: dict[str, str]) -> None:
    log(f"{size} patients ({kind}): population")
    pop = population(size, run.args, run.workdir) if kind == "generated" else fhir_population(run, size)
    run.populations.append(pop)
    name = str(size) if kind == "generated" else f"{kind}-{size}"
    outdir = run.workdir / "runs" / name
    outdir.mkdir(parents=True, exist_ok=True)
    here = {**places, "data": str(pop.path), "store": str(run.workdir / "stores" / name)}
    sizes, reference = {
        "generated": (run.args.sizes, run.args.pyshacl_sizes),
        "fhir": (run.args.fhir_sizes, run.args.fhir_pyshacl_sizes),
    }[kind]
    for step in STEPS[kind]:
        wanted_sizes = reference if step.sizes == "reference" else sizes
        if size not in wanted_sizes or not wanted(run, qualified(kind, step)) or (step.largest and size > step.largest):
            continue
        log(f"{size} patients ({kind}): {step.name}")
        measurement = run_step(run, step, here, outdir, pop.summary)
        measurement.size, measurement.kind = size, kind
        run.per_size.append(measurement)
        log(f"  {describe(measurement)} {measurement.check}")


def execute(args: argparse.Namespace) -> Run:
    workdir = args.workdir.resolve()
    (workdir / "runs").mkdir(parents=True, exist_ok=True)
    # every command uses a cache in the work directory (filled by warm_cache), never the user's
    os.environ["MESOKG_CACHE_DIR"] = str(workdir / "cache")
    os.environ.pop("MESOKG_NO_CACHE", None)
    build = workdir / "build"
    places = {"python": sys.executable, "probes": str(PROBES), "build": str(build), "kb": str(build / "mesokg.nt")}
    places |= {"kbstore": str(workdir / "stores" / "kb"), "treatment": TREATMENT, "bundle": str(COLD_BUNDLE)}
    run = Run(args, workdir, datetime.now(UTC), _commit(), load_average())
    run_once_steps(run, places)
    warm_cache(run, places)
    run_warm_queries(run, places)
    run_cold_start(run, places)
    for size in sorted(set(args.sizes) | set(args.pyshacl_sizes)):
        run_size(run, "generated", size, places)
    for size in sorted(set(args.fhir_sizes) | set(args.fhir_pyshacl_sizes)):
        run_size(run, "fhir", size, places)
    return run


# ---- the report ----------------------------------------------------------------------------------------------
def describe(m: Measurement) -> str:
    """A measurement in one cell: '12.3 s, 456 MB', 'timed out (> 1800 s)', 'failed (exit 2)'."""
    if m.status == "timed out":
        return f"timed out (> {m.wall_s:.0f} s)"
    if m.status == "cached":
        return "cached"
    if m.wall_s is None:
        return m.status
    cell = f"{seconds(m.wall_s)}, {m.rss_mb:,.0f} MB" if m.rss_mb is not None else seconds(m.wall_s)
    return cell if m.status == "ok" else f"{m.status}: {cell}"


def file_size(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size >= MB else f"{size / 1024:,.0f} kB"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:,.1f} s" if value < 100 else f"{value:,.0f} s"


def median_wall(runs: list[Measurement]) -> float:
    return statistics.median(m.wall_s for m in runs if m.wall_s is not None)


def machine(run: Run) -> str:
    """CPU, memory, operating system, Python and package versions, load and commit, as one paragraph."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines() if "model name" in line), "?"
    )
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if "MemTotal" in line), 0)
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES if _version(name))
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / MB:.1f} GB RAM, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {versions}; {commits(run)}; load average at the start "
        f"{run.load_before}, at the end {load_average()}."
    )


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str:
    def git(*words: str) -> str:
        found = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True, check=False)
        return found.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{commit} (with uncommitted changes)" if git("status", "--porcelain") else commit


def commits(run: Run) -> str:
    now = _commit()
    if now == run.commit:
        return f"commit {run.commit}"
    return f"commit {run.commit} at the start, {now} at the end (the checkout changed during the run)"


def reproduce_command(args: argparse.Namespace) -> str:
    words = ["python", "benchmarks/run.py", "--sizes", *map(str, args.sizes)]
    words += ["--pyshacl-sizes", *map(str, args.pyshacl_sizes), "--fhir-sizes", *map(str, args.fhir_sizes)]
    words += ["--fhir-pyshacl-sizes", *map(str, args.fhir_pyshacl_sizes)]
    words += ["--fhir-block", str(args.fhir_block), "--cold-repeat", str(args.cold_repeat)]
    words += ["--seed", str(args.seed), "--invalid-share", str(args.invalid_share), "--timeout", f"{args.timeout:g}"]
    words += ["--steps", *args.steps] if args.steps else []
    words += ["--skip", *args.skip] if args.skip else []
    return shlex.join([*words, "--out", str(args.out)])


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def population_section(run: Run) -> list[str]:
    def counts(p: PopulationFile) -> list[str]:
        triples = p.summary["triples"]
        size = file_size(p.path.stat().st_size)
        return [f"{p.size:,}", f"{triples:,}", f"{triples / max(p.size, 1):.1f}", f"{p.summary['invalid']:,}", size]

    header = ["patients", "triples", "per patient", "invalid", "N-Triples file"]
    generated = [[*counts(p), describe(p.generation)] for p in run.populations if p.kind == "generated"]
    fhir = [
        [*counts(p), f"{p.imported.size:,} patients: {describe(p.imported)}", describe(p.generation)]
        for p in run.populations
        if p.kind == "fhir"
    ]
    lines = ["## Populations", ""]
    if generated:
        lines += [*table([*header, "generated in"], generated), ""]
    if fhir:
        lines += [
            "Imported from FHIR: the bundles of `examples/fhir` in turn, each copy with its own ids "
            f"(`benchmarks/bulk_export.py`), {run.args.fhir_block:,} patients (or fewer) as one Bundle, converted "
            "by `mesokg import-fhir`; the triples then replicated to the size, each copy's nodes renamed. Every "
            f"patient is screened for `{TREATMENT}`. What each output must hold is the example bundles' own "
            "`mesokg validate` and `mesokg screen --treatment` results, times their copies.",
            "",
            *table([*header, "mesokg import-fhir of one block", "replicated in"], fhir),
            "",
        ]
    return lines


PER_SIZE_TITLES = {
    "generated": "## Per population size (generated)",
    "fhir": "## Per population size (imported from FHIR)",
}


def per_size_section(run: Run, kind: str) -> list[str]:
    sizes = [p.size for p in run.populations if p.kind == kind]
    measured = [m for m in run.per_size if m.kind == kind]
    if not measured:
        return []
    names = list(dict.fromkeys(m.step for m in measured))
    cell = {(m.step, m.size): m for m in measured}
    rows = [[name, *(describe(cell[name, s]) if (name, s) in cell else "not run" for s in sizes)] for name in names]
    checks = [[m.step, f"{m.size:,}", m.check] for m in measured if m.check]
    return [
        PER_SIZE_TITLES[kind],
        "",
        "Wall time of the whole process (start-up, reading the knowledge graph and the data, the work, writing "
        "the output) and its peak resident memory.",
        "",
        *table(["step", *(f"{s:,} patients" for s in sizes)], rows),
        "",
        "Each output checked against what the population holds:",
        "",
        *table(["step", "patients", "check"], checks),
        "",
    ]


def once_section(run: Run) -> list[str]:
    rows = [[m.step, describe(m), m.check] for m in run.once]
    return ["## Knowledge graph alone (once per run)", "", *table(["step", "time, peak RSS", "output"], rows), ""]


def warm_section(run: Run) -> list[str]:
    rows = []
    for warm, measurement, times in run.warm:
        params = ", ".join(f"{k}={v}" for k, v in warm.params.items())
        if not times:
            rows.append([warm.name, warm.backend, params, describe(measurement), "", "", "", "", ""])
            continue
        rows.append(
            [
                warm.name,
                warm.backend,
                params,
                str(times["runs"]),
                f"{times['median_ms']:.1f} ms",
                f"{times['p90_ms']:.1f} ms",
                f"{times['first_ms']:.1f} ms",
                f"{times['evaluation_median_ms']:.1f} ms",
                str(times["rows"]),
            ]
        )
    if not rows:
        return []
    header = ["query", "on", "parameters", "runs", "median", "p90", "first run", "evaluation only, median", "rows"]
    return [
        "## Warm queries",
        "",
        "The built graph loaded once in one process, then the query run repeatedly through `mesokg.query`: "
        "*graph* is `run_query` on the rdflib graph, *store* is `run_store_query` on the on-disk store "
        "`mesokg build --store` filled. Each run parses the query, resolves and binds the parameters, evaluates "
        "and reads every row; *evaluation only* is the same query prepared and bound once.",
        "",
        *table(header, rows),
        "",
    ]


def shown(step: Step) -> str:
    """A cold-start step's command as a reader would type it."""
    words = {"{mesokg}": "mesokg", "{bundle}": f"examples/fhir/{COLD_BUNDLE.name}", "{treatment}": TREATMENT}
    return " ".join(words.get(word, word) for word in step.argv)


def cold_section(run: Run) -> list[str]:
    if not run.cold:
        return []
    rows = []
    for cold in run.cold:
        runs = [m for m in cold.runs if m.status == "ok"]
        checks = Counter(m.check for m in [cold.first, *cold.runs])
        agreed = (
            f"all {sum(checks.values())} runs: {next(iter(checks))}"
            if len(checks) == 1
            else "MISMATCH: " + ("; ".join(f"{n} runs: {c}" for c, n in checks.items()))
        )
        if len(runs) != len(cold.runs):
            rows.append([cold.step.name, describe(cold.first), "; ".join(describe(m) for m in cold.runs), "", "", ""])
            continue
        rows.append(
            [
                f"`{shown(cold.step)}`",
                describe(cold.first),
                seconds(median_wall(runs)),
                f"{seconds(min(m.wall_s for m in runs))} – {seconds(max(m.wall_s for m in runs))}",
                f"{max(m.rss_mb or 0 for m in runs):,.0f} MB",
                agreed,
            ]
        )
    header = [
        "command",
        "first run, empty cache",
        f"median of {run.args.cold_repeat}, cache warm",
        "range",
        "peak RSS",
        "output",
    ]
    return [
        "## Cold start (one FHIR bundle, one query)",
        "",
        f"Each command a new process, on `examples/fhir/{COLD_BUNDLE.name}` (the query on the knowledge graph "
        "alone), with an on-disk cache of its own (`MESOKG_CACHE_DIR` in the work directory): the first run with "
        "the cache empty (it builds the knowledge graph and the code tables and caches them), one untimed run, "
        f"then {run.args.cold_repeat} runs with the cache warm.",
        "",
        *table(header, rows),
        "",
    ]


@dataclass
class RatioRow:
    ratio: Ratio
    size: int
    slower: list[Measurement]
    faster: list[Measurement]

    @property
    def value(self) -> float:
        return sum(m.wall_s for m in self.slower) / sum(m.wall_s for m in self.faster)

    @property
    def text(self) -> str:
        bound = "≥ " if any(m.status == "timed out" for m in self.slower) else ""
        return f"{bound}{self.value:.1f}×"


def ratio_rows(run: Run) -> list[RatioRow]:
    cell = {(m.kind, m.step, m.size): m for m in run.per_size}
    rows = []
    for ratio in RATIOS:
        for size in [p.size for p in run.populations if p.kind == ratio.kind]:
            slow = [cell.get((ratio.kind, name, size)) for name in ratio.slower]
            fast = [cell.get((ratio.kind, name, size)) for name in ratio.faster]
            if None in slow or None in fast or any(m.status != "ok" for m in fast):
                continue
            if any(m.status not in ("ok", "timed out") for m in slow):
                continue
            rows.append(RatioRow(ratio, size, slow, fast))
    return rows


def summed(measurements: list[Measurement]) -> str:
    if len(measurements) == 1:
        return describe(measurements[0])
    total = sum(m.wall_s for m in measurements)
    return " + ".join(seconds(m.wall_s) for m in measurements) + f" = {seconds(total)}"


def ratio_section(run: Run) -> list[str]:
    rows = [
        [row.ratio.label, row.ratio.kind, f"{row.size:,}", summed(row.slower), summed(row.faster), row.text]
        for row in ratio_rows(run)
    ]
    if not rows:
        return []
    header = ["ratio", "population", "patients", "slower", "faster", "ratio"]
    return ["## Ratios (same run)", "", *table(header, rows), ""]


def end_to_end(run: Run, size: int) -> tuple[float, float] | None:
    """Summed wall time and largest peak RSS (MB) of the END_TO_END steps at `size`, if all of them ran."""
    found = [
        m
        for m in run.per_size
        if m.kind == "generated" and m.size == size and m.step in END_TO_END and m.status == "ok"
    ]
    if len(found) != len(END_TO_END):
        return None
    return sum(m.wall_s for m in found), max(m.rss_mb or 0 for m in found)


def find_ratio(run: Run, label: str, kind: str, size: int) -> RatioRow | None:
    return next((r for r in ratio_rows(run) if (r.ratio.label, r.ratio.kind, r.size) == (label, kind, size)), None)


def target_rows(run: Run) -> list[list[str]]:
    """The acceptance targets of issue 6, each with what this run measured (or 'not measured')."""
    rows = []
    measured = end_to_end(run, 100_000)
    rows.append(
        [
            "validate + screen of 100,000 patients, one file: ≤ 30 s, peak < 2 GB",
            f"{seconds(measured[0])}, {measured[1]:,.0f} MB" if measured else "not measured",
            ("yes" if measured[0] <= 30 and measured[1] < 2048 else "no") if measured else "",
        ]
    )
    ratio = find_ratio(run, RATIOS[0].label, "generated", 10_000)
    rows.append(
        [
            "≥ 20× faster than pySHACL at 10,000",
            ratio.text if ratio else "not measured",
            _met(ratio and ratio.value, 20),
        ]
    )
    rows.append(warm_target(run))
    in_store = [m for m in run.per_size if m.kind == "generated" and m.size == 1_000_000 and m.step in STORE_STEPS]
    complete = len(in_store) == len(STORE_STEPS) and all(m.status == "ok" for m in in_store)
    rows.append(
        [
            "1,000,000 patients complete in an on-disk store",
            "; ".join(f"{m.step}: {describe(m)}" for m in in_store) or "not measured",
            ("yes" if complete else "no") if in_store else "",
        ]
    )
    return rows


def warm_target(run: Run) -> list[str]:
    warm = sorted((t["median_ms"], w.backend) for w, _, t in run.warm if w.name == HEADLINE_QUERY[0] and t)
    return [
        "`unsuitable-treatments` warm median < 5 ms",
        f"{warm[0][0]:.1f} ms ({warm[0][1]})" if warm else "not measured",
        ("yes" if warm[0][0] < 5 else "no") if warm else "",
    ]


GB = 1024  # MB (peak RSS is in MiB)


def fhir_cell(run: Run, step: str, size: int) -> Measurement | None:
    return next((m for m in run.per_size if (m.kind, m.step, m.size) == ("fhir", step, size)), None)


def memory_target(run: Run, steps: tuple[str, ...], size: int, limit_mb: float) -> tuple[str, str]:
    """The peak RSS of each of `steps` at `size` (FHIR), and whether every one is within `limit_mb`."""
    found = [fhir_cell(run, step, size) for step in steps]
    if any(m is None or m.status != "ok" or m.rss_mb is None for m in found):
        return "not measured", ""
    text = ", ".join(f"{m.step}: {m.rss_mb:,.0f} MB" for m in found)
    return text, "yes" if all(m.rss_mb <= limit_mb for m in found) else "no"


def issue13_rows(run: Run) -> list[list[str]]:
    """The targets of issue 13, item 1, each with what this run measured (or 'not measured')."""
    rows = []
    for screen, label in ((FHIR_SCREEN_JSONL, "-f jsonl"), (FHIR_SCREEN_JSON, "-f json (the contract format)")):
        ratio = next(
            (
                r
                for r in ratio_rows(run)
                if r.ratio.kind == "fhir" and r.ratio.slower == (FHIR_VALIDATE, screen) and r.size == 100_000
            ),
            None,
        )
        measured = (
            f"({summed(ratio.slower)}) / {seconds(ratio.faster[0].wall_s)} = {ratio.text}" if ratio else "not measured"
        )
        rows.append(
            [
                f"100,000 patients from FHIR: validate + screen {label} ≤ 4× pyoxigraph `bulk_load` of the file",
                measured,
                ("yes" if ratio.value <= 4 else "no") if ratio else "",
            ]
        )
        rows.append(
            [
                f"100,000 patients from FHIR: peak memory ≤ 1 GB per command (validate, screen {label})",
                *memory_target(run, (FHIR_VALIDATE, screen), 100_000, GB),
            ]
        )
    for label in ("--engine pyshacl / mesokg validate", "pySHACL / mesokg validate"):
        ratio = find_ratio(run, label, "fhir", 2_000)
        rows.append(
            [
                f"2,000 patients from FHIR: ≥ 100× pySHACL, cold command against cold command ({label})",
                f"{summed(ratio.slower)} / {summed(ratio.faster)} = {ratio.text}" if ratio else "not measured",
                _met(ratio and ratio.value, 100),
            ]
        )
    cold = {c.step.name: c for c in run.cold}
    for name, label in (
        (COLD_VALIDATE, "one FHIR bundle validated"),
        (COLD_SCREEN, "one FHIR bundle screened"),
        (COLD_QUERY, "a `mesokg query`"),
    ):
        found = cold.get(name)
        ok = found and all(m.status == "ok" for m in found.runs)
        value = median_wall(found.runs) if ok else None
        rows.append(
            [
                f"cold start: {label} ≤ 0.5 s (median, cache warm)",
                f"{seconds(value)} (first run, empty cache: {describe(found.first)})" if ok else "not measured",
                ("yes" if value <= 0.5 else "no") if ok else "",
            ]
        )
    for step, limit, label in (
        (FHIR_VALIDATE_STORE, 120, "`validate --store`"),
        (FHIR_SCREEN_STORE, 60, "`screen --store`"),
    ):
        m = fhir_cell(run, step, 1_000_000)
        done = m is not None and m.status == "ok" and m.rss_mb is not None
        rows.append(
            [
                f"1,000,000 patients from FHIR: {label} ≤ {limit} s, peak ≤ 2 GB",
                describe(m) if m else "not measured",
                ("yes" if m.wall_s <= limit and m.rss_mb <= 2 * GB else "no") if done else ("no" if m else ""),
            ]
        )
    rows.append(warm_target(run))
    return rows


def _met(value: float | None, at_least: float) -> str:
    return "" if value is None else "yes" if value >= at_least else "no"


def report(run: Run) -> str:
    lines = [
        "# mesokg benchmarks",
        "",
        f"Measured {run.started:%Y-%m-%d %H:%M} UTC on {machine(run)}",
        "",
        f"Reproduce: `{reproduce_command(run.args)}`",
        "",
        f"Populations from `benchmarks/generate.py` (seed {run.args.seed}, {run.args.invalid_share:.0%} invalid "
        "records) and imported from FHIR; see `benchmarks/README.md` for what each step is. Every command ran "
        "with an on-disk cache (`MESOKG_CACHE_DIR`) in the work directory, filled by one untimed run before the "
        "first measured step.",
        "",
        "## Targets (issue 13)",
        "",
        *table(["target", "measured", "met"], issue13_rows(run)),
        "",
        *population_section(run),
        *per_size_section(run, "generated"),
        *per_size_section(run, "fhir"),
        *ratio_section(run),
        *cold_section(run),
        *warm_section(run),
        *once_section(run),
        "## Targets (issue 6)",
        "",
        *table(["target", "measured", "met"], target_rows(run)),
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark mesokg on patient populations.")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[1000, 10000, 100000], help="sizes of the generated populations"
    )
    parser.add_argument(
        "--pyshacl-sizes", type=int, nargs="*", default=[1000, 10000], help="sizes at which to run pySHACL alone"
    )
    parser.add_argument(
        "--fhir-sizes",
        type=int,
        nargs="*",
        default=[2000, 100000, 1000000],
        help="sizes of the populations imported from FHIR (each at most --fhir-block or a multiple of it)",
    )
    parser.add_argument(
        "--fhir-pyshacl-sizes", type=int, nargs="*", default=[2000], help="where to run the reference engines on them"
    )
    parser.add_argument(
        "--fhir-block", type=int, default=1000, help="patients per Bundle converted by mesokg import-fhir"
    )
    parser.add_argument(
        "--cold-repeat", type=int, default=5, help="cold-start runs with the cache warm (0: no cold start)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"), help="markdown report to write")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "mesokg-bench",
        help="populations (cached), the build and every step's output",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds after which a step is stopped")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--invalid-share", type=float, default=0.05)
    parser.add_argument(
        "--steps", nargs="+", metavar="NAME", help="run only the steps whose name contains one of these (build always)"
    )
    parser.add_argument(
        "--skip", nargs="+", metavar="NAME", help="leave out the steps whose name contains one of these"
    )
    args = parser.parse_args(argv)
    if args.fhir_block < 1:
        parser.error("--fhir-block must be at least 1")
    for size in {*args.fhir_sizes, *args.fhir_pyshacl_sizes}:
        if size < 1 or (size > args.fhir_block and size % args.fhir_block):
            parser.error(f"FHIR size {size}: not a multiple of --fhir-block {args.fhir_block}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = execute(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(run), encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
