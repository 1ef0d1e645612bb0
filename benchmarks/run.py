"""The mesokg benchmark: time and peak memory of each command on synthetic populations, written as markdown.

    python benchmarks/run.py [--sizes 1000 10000 100000] [--pyshacl-sizes 1000 10000] [--out docs/benchmarks.md]
                             [--workdir DIR] [--timeout 1800] [--seed 0] [--invalid-share 0.05]
                             [--steps NAME ...] [--skip NAME ...]

Every measured step is a child process of its own (wall time of the whole process, peak RSS from
`/usr/bin/time -v`, or from getrusage in a fresh wrapper process where that is missing). What is measured is a
list of `Step`s below: a new engine or flag is one more entry (and one more `Ratio` or target line if it should
be compared). Each step's output is kept in the work directory and checked against what the generator says the
population holds (non-conforming patients, screening findings), so a fast wrong answer does not pass unseen.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

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
    {kbstore} (an on-disk store holding the built graph) and {store} (this size's on-disk store)."""

    name: str
    argv: tuple[str, ...]
    sizes: str = "all"  # "all": every --sizes; "reference": only the --pyshacl-sizes (the slow reference engines)
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
    """`slower` time / `faster` time per size, when both ran (a lower bound when `slower` timed out)."""

    label: str
    slower: str
    faster: str


RATIOS = (
    Ratio("pySHACL / mesokg validate", "pySHACL (reference)", "mesokg validate"),
    Ratio("--engine pyshacl / default engine", "mesokg validate --engine pyshacl", "mesokg validate"),
    Ratio("--engine rdflib / default engine", "mesokg screen --engine rdflib", "mesokg screen"),
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


def run_measured(name: str, command: list[str], outdir: Path, timeout: float, ok_exits=(0,)) -> Measurement:
    """Run `command` in its own process group, stdout and stderr to files; kill the group on timeout."""
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    stdout, stderr, memory = (outdir / f"{slug}.{ext}" for ext in ("out", "err", "mem"))
    memory.unlink(missing_ok=True)
    start = time.perf_counter()
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        process = subprocess.Popen(
            with_memory_probe(command, memory), stdout=out, stderr=err, cwd=ROOT, start_new_session=True
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
def verdict(found, expected) -> str:
    return f"{found} (expected {expected}) {'ok' if found == expected else 'MISMATCH'}"


def check_validate(output: Path, summary: dict) -> str:
    """Patients with at least one sh:Violation, against the number the generator made invalid."""
    results = json.loads(output.read_text(encoding="utf-8"))["results"]
    violating = {r["patient"] for r in results if r["severity"] == "Violation"}
    warnings = sum(r["severity"] == "Warning" for r in results)
    return f"non-conforming patients {verdict(len(violating), summary['invalid'])}; {warnings} warnings"


def check_screen(output: Path, summary: dict) -> str:
    """Screening findings per status, against the statuses the generator expects."""
    patients = json.loads(output.read_text(encoding="utf-8"))["patients"]
    found = Counter(f["status"] for p in patients for f in p["findings"])
    expected = summary["findings"]
    statuses = sorted(set(found) | set(expected))
    return "; ".join(f"{status} {verdict(found.get(status, 0), expected.get(status, 0))}" for status in statuses)


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


CHECKS: dict[str, Callable[[Path, dict], str]] = {
    "validate": check_validate,
    "screen": check_screen,
    "pyshacl": check_pyshacl,
    "rows": check_rows,
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
    generation: Measurement


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


# ---- the run -------------------------------------------------------------------------------------------------
@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    started: datetime
    commit: str
    populations: list[PopulationFile] = field(default_factory=list)
    once: list[Measurement] = field(default_factory=list)
    per_size: list[Measurement] = field(default_factory=list)
    warm: list[tuple[WarmQuery, Measurement, dict]] = field(default_factory=list)


def matches(step_name: str, patterns: list[str] | None) -> bool:
    return any(p.lower() in step_name.lower() for p in patterns or ())


def wanted(run: Run, step_name: str) -> bool:
    """Whether --steps (if given) names the step and --skip does not."""
    return (not run.args.steps or matches(step_name, run.args.steps)) and not matches(step_name, run.args.skip)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_step(run: Run, step: Step, places: dict[str, str], outdir: Path, summary: dict) -> Measurement:
    """Empty the step's fresh directories, run it, check its output."""
    empty_directories(step, places, run.workdir)
    measurement = run_measured(step.name, expand(step.argv, places), outdir, run.args.timeout, step.ok_exits)
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


def run_size(run: Run, size: int, places: dict[str, str]) -> None:
    log(f"{size} patients: population")
    pop = population(size, run.args, run.workdir)
    run.populations.append(pop)
    outdir = run.workdir / "runs" / str(size)
    outdir.mkdir(parents=True, exist_ok=True)
    here = {**places, "data": str(pop.path), "store": str(run.workdir / "stores" / str(size))}
    for step in PER_SIZE_STEPS:
        wanted_sizes = run.args.pyshacl_sizes if step.sizes == "reference" else run.args.sizes
        if size not in wanted_sizes or not wanted(run, step.name) or (step.largest and size > step.largest):
            continue
        log(f"{size} patients: {step.name}")
        measurement = run_step(run, step, here, outdir, pop.summary)
        measurement.size = size
        run.per_size.append(measurement)
        log(f"  {describe(measurement)} {measurement.check}")


def execute(args: argparse.Namespace) -> Run:
    workdir = args.workdir.resolve()
    (workdir / "runs").mkdir(parents=True, exist_ok=True)
    build = workdir / "build"
    places = {"python": sys.executable, "probes": str(PROBES), "build": str(build), "kb": str(build / "mesokg.nt")}
    places["kbstore"] = str(workdir / "stores" / "kb")
    run = Run(args, workdir, datetime.now(UTC), _commit())
    run_once_steps(run, places)
    run_warm_queries(run, places)
    for size in sorted(set(args.sizes) | set(args.pyshacl_sizes)):
        run_size(run, size, places)
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


def machine(run: Run) -> str:
    """CPU, memory, operating system, Python and package versions, load and commit, as one paragraph."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines() if "model name" in line), "?"
    )
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if "MemTotal" in line), 0)
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES if _version(name))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / MB:.1f} GB RAM, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {versions}; {commits(run)}; load average at the end {load}."
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
    words += ["--pyshacl-sizes", *map(str, args.pyshacl_sizes)] if args.pyshacl_sizes else []
    words += ["--seed", str(args.seed), "--invalid-share", str(args.invalid_share), "--timeout", f"{args.timeout:g}"]
    words += ["--steps", *args.steps] if args.steps else []
    words += ["--skip", *args.skip] if args.skip else []
    return " ".join([*words, "--out", str(args.out)])


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def population_section(run: Run) -> list[str]:
    rows = [
        [
            f"{p.size:,}",
            f"{p.summary['triples']:,}",
            f"{p.summary['triples'] / max(p.size, 1):.1f}",
            f"{p.summary['invalid']:,}",
            file_size(p.path.stat().st_size),
            describe(p.generation),
        ]
        for p in run.populations
    ]
    header = ["patients", "triples", "per patient", "invalid", "N-Triples file", "generated in"]
    return ["## Populations", "", *table(header, rows), ""]


def per_size_section(run: Run) -> list[str]:
    sizes = [p.size for p in run.populations]
    names = list(dict.fromkeys(m.step for m in run.per_size))
    cell = {(m.step, m.size): m for m in run.per_size}
    rows = [[name, *(describe(cell[name, s]) if (name, s) in cell else "not run" for s in sizes)] for name in names]
    checks = [[m.step, f"{m.size:,}", m.check] for m in run.per_size if m.check]
    return [
        "## Per population size",
        "",
        "Wall time of the whole process (start-up, reading the knowledge graph and the data, the work, writing "
        "the output) and its peak resident memory.",
        "",
        *table(["step", *(f"{s:,} patients" for s in sizes)], rows),
        "",
        "Each output checked against what the generator put in the population:",
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


def ratio_rows(run: Run) -> list[list[str]]:
    cell = {(m.step, m.size): m for m in run.per_size}
    rows = []
    for ratio in RATIOS:
        for size in [p.size for p in run.populations]:
            slow, fast = cell.get((ratio.slower, size)), cell.get((ratio.faster, size))
            if slow is None or fast is None or fast.status != "ok" or slow.status not in ("ok", "timed out"):
                continue
            bound = "≥ " if slow.status == "timed out" else ""
            rows.append(
                [ratio.label, f"{size:,}", describe(slow), describe(fast), f"{bound}{slow.wall_s / fast.wall_s:.1f}×"]
            )
    return rows


def ratio_section(run: Run) -> list[str]:
    rows = ratio_rows(run)
    if not rows:
        return []
    return ["## Ratios (same run)", "", *table(["ratio", "patients", "slower", "faster", "ratio"], rows), ""]


def end_to_end(run: Run, size: int) -> tuple[float, float] | None:
    """Summed wall time and largest peak RSS (MB) of the END_TO_END steps at `size`, if all of them ran."""
    found = [m for m in run.per_size if m.size == size and m.step in END_TO_END and m.status == "ok"]
    if len(found) != len(END_TO_END):
        return None
    return sum(m.wall_s for m in found), max(m.rss_mb or 0 for m in found)


def target_rows(run: Run) -> list[list[str]]:
    """The issue's acceptance targets, each with what this run measured (or 'not measured')."""
    rows = []
    measured = end_to_end(run, 100_000)
    rows.append(
        [
            "validate + screen of 100,000 patients, one file: ≤ 30 s, peak < 2 GB",
            f"{seconds(measured[0])}, {measured[1]:,.0f} MB" if measured else "not measured",
            ("yes" if measured[0] <= 30 and measured[1] < 2048 else "no") if measured else "",
        ]
    )
    ratio = next((r for r in ratio_rows(run) if r[0] == RATIOS[0].label and r[1] == "10,000"), None)
    value = float(ratio[4].lstrip("≥ ").rstrip("×")) if ratio else None
    rows.append(["≥ 20× faster than pySHACL at 10,000", ratio[4] if ratio else "not measured", _met(value, 20)])
    warm = sorted((t["median_ms"], w.backend) for w, _, t in run.warm if w.name == HEADLINE_QUERY[0] and t)
    rows.append(
        [
            "`unsuitable-treatments` warm median < 5 ms",
            f"{warm[0][0]:.1f} ms ({warm[0][1]})" if warm else "not measured",
            ("yes" if warm[0][0] < 5 else "no") if warm else "",
        ]
    )
    in_store = [m for m in run.per_size if m.size == 1_000_000 and m.step in STORE_STEPS]
    complete = len(in_store) == len(STORE_STEPS) and all(m.status == "ok" for m in in_store)
    rows.append(
        [
            "1,000,000 patients complete in an on-disk store",
            "; ".join(f"{m.step}: {describe(m)}" for m in in_store) or "not measured",
            ("yes" if complete else "no") if in_store else "",
        ]
    )
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
        "records); see `benchmarks/README.md` for what each step is.",
        "",
        *population_section(run),
        *per_size_section(run),
        *ratio_section(run),
        *warm_section(run),
        *once_section(run),
        "## Targets (issue 6)",
        "",
        *table(["target", "measured", "met"], target_rows(run)),
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark mesokg on synthetic patient populations.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="population sizes")
    parser.add_argument(
        "--pyshacl-sizes", type=int, nargs="*", default=[1000, 10000], help="sizes at which to run pySHACL alone"
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = execute(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(run), encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
