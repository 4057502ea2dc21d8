"""Run the round-3 reliability audit of kzcausal (cases in ``cases.py``); see README.md.

    .venv/bin/python tests/audit_round3/run_audit.py [--only SUBSTR] [--cls LETTERS] [--json out.json]
                                                    [--timeout 60] [--mem-gib 4] [--jobs 1]

Every case runs in a child process with a wall-time limit and an address-space limit (RLIMIT_AS):
API cases in a child forked from this process (multiprocessing 'fork'), CLI cases as a subprocess of
the ``kzcausal`` console script. Each outcome is one of

  typed      a KzCausalError that names what is wrong and says a fix (a refusal that should happen)
  correct    a right answer, or a legitimate result with its warning/caveat
  raw        any other exception (ValueError, TypeError, KeyError, MemoryError, a CLI traceback, ...)
  silent     a wrong answer: a result for input that must be refused, a value misread, rows split or
             dropped without a word, NaN/inf returned, user text rendered as markup
  hang       no answer within the time limit
  abort      the child died (signal, address-space kill, interpreter crash) without an answer
  unhelpful  a KzCausalError whose message does not name the argument/column or gives no fix, a size
             refusal without the cost, a refusal that came only after the work, or a refusal of input
             that is legitimate (the message then describes a problem the input does not have)

Not collected by pytest (no ``test_`` file names). Exit status 0 always (it is an audit, not a gate).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")  # forked children must not inherit busy thread pools

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES, Case  # noqa: E402
from kzcausal.errors import KzCausalError  # noqa: E402

OUTCOMES = ("typed", "correct", "raw", "silent", "hang", "abort", "unhelpful")
CLASSES = "abcdefg"
CLASS_NAMES = {
    "a": "hostile text reaching outputs", "b": "absurd sizes refused up front", "c": "numerical extremes",
    "d": "number parsing (CSV/XLSX)", "e": "Unicode and encodings", "f": "argument validation outside DID",
    "g": "CLI files/folders and messages",
}
FIX = re.compile(
    r"\bfix\b|\b(use|pass|give|choose|set|add|remove|drop|correct|rename|save|export|supply|fill|keep|lower|"
    r"raise|reduce|name|try|install|check|narrow|widen|pick|quote|write|list|leave|delete|replace|convert|"
    r"select|specify|put|make|start|call|build|restrict|aggregate|increase|mark|map|read|filter|sample|"
    r"simplify|harmonize|mark|needs?)\b", re.I)
COST = re.compile(r"\bcap\b|GiB|MiB|\bmemory\b|hours|minutes|seconds|at most|more than|too (many|large|much)|"
                  r"exceeds|maximum|limit", re.I)


# --------------------------------------------------------------------------- judging messages
def judge_refusal(case: Case, message: str, elapsed: float) -> tuple[str, str]:
    """typed or unhelpful, for a KzCausalError (or a CLI error line) refusing the input."""
    low = message.lower()
    missing = [k for k in case.keywords if not any(alt.lower() in low for alt in k.split("|"))]
    head = message.strip().replace("\n", " | ")[:260]
    if missing:
        return "unhelpful", f"message does not name {missing}: {head}"
    if not FIX.search(message):
        return "unhelpful", f"message gives no fix: {head}"
    if case.cost and not COST.search(message):
        return "unhelpful", f"size refusal does not state the cost or cap: {head}"
    if case.max_s is not None and elapsed > case.max_s:
        return "unhelpful", f"refused only after {elapsed:.1f} s (should be up front, < {case.max_s} s): {head}"
    return "typed", head


def classify_api(case: Case, out: dict) -> tuple[str, str]:
    status = out["status"]
    if status == "hang":
        return "hang", f"no answer within {out['elapsed']:.0f} s"
    if status == "abort":
        return "abort", out.get("detail", "child died without an answer")
    if status == "raised":
        where = f" [in {out['stage']}] at {out['where']}" if out.get("where") else ""
        if not out["typed"]:
            return "raw", f"{out['type']}: {out['message'][:220]}{where}"
        if case.expect == "ok":
            return "unhelpful", (f"refused a legitimate input with {out['type']}: "
                                 f"{out['message'].strip().replace(chr(10), ' | ')[:220]}")
        return judge_refusal(case, out["message"], out["elapsed"])
    # returned
    if case.expect == "error":
        extra = f"; warnings: {[w[:100] for w in out['warnings']][:2]}" if out["warnings"] else ""
        return "silent", f"returned {out['value']} instead of refusing ({out.get('problem') or case.want}){extra}"
    if out.get("problem"):
        return "silent", out["problem"]
    return "correct", f"{out['value']} in {out['elapsed']:.2f} s" + (f" ({out['note']})" if out.get("note") else "")


# --------------------------------------------------------------------------- API cases: forked child
def _limit_memory(mem_bytes: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    except (ValueError, OSError):
        pass


def _child(case: Case, conn, mem_bytes: int, root: str) -> None:
    tempfile.tempdir = root          # every file a case writes goes under its own folder, removed afterwards
    _limit_memory(mem_bytes)
    start = time.perf_counter()
    stage = "call"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = case.call()
            texts = [f"{w.category.__name__}: {w.message}" for w in caught]
            elapsed = time.perf_counter() - start
            stage = "check"
            problem = case.check(value, texts) if case.check is not None else None
        note = None
        if isinstance(problem, tuple):  # (None, note) = correct with a remark
            problem, note = problem
        conn.send(dict(status="returned", elapsed=elapsed, warnings=texts, problem=problem, note=note,
                       value=type(value).__name__))
    except BaseException as exc:  # noqa: BLE001 - the audit classifies every exception
        frames = traceback.extract_tb(exc.__traceback__)
        inner = [f for f in frames if "kzcausal" in f.filename or "site-packages" in f.filename] or frames
        where = f"{Path(inner[-1].filename).name}:{inner[-1].lineno}" if inner else ""
        try:
            conn.send(dict(status="raised", elapsed=time.perf_counter() - start, type=type(exc).__name__,
                           typed=isinstance(exc, KzCausalError), message=str(exc)[:4000], where=where, stage=stage))
        except Exception:  # noqa: BLE001 - e.g. a message that cannot be pickled
            conn.send(dict(status="raised", elapsed=time.perf_counter() - start, type=type(exc).__name__,
                           typed=isinstance(exc, KzCausalError), message=repr(exc)[:4000], where=where, stage=stage))
    finally:
        conn.close()


def run_api(case: Case, timeout: float, mem_bytes: int) -> dict:
    parent, child = mp.Pipe(duplex=False)
    root = tempfile.mkdtemp(prefix="kzaudit3-case-")
    process = mp.get_context("fork").Process(target=_child, args=(case, child, mem_bytes, root))
    start = time.perf_counter()
    try:
        return _wait(process, parent, child, case, timeout, start)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait(process, parent, child, case: Case, timeout: float, start: float) -> dict:
    process.start()
    child.close()
    limit = case.timeout or timeout
    out = None
    if parent.poll(limit):
        try:
            out = parent.recv()
        except (EOFError, OSError):
            out = None
        process.join(10)
    if process.is_alive():
        process.kill()
        process.join()
        if out is None:
            return dict(status="hang", elapsed=time.perf_counter() - start)
    if out is None:
        code = process.exitcode
        detail = (f"killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}")
        return dict(status="abort", elapsed=time.perf_counter() - start, detail=f"child {detail}, no answer")
    return out


# --------------------------------------------------------------------------- CLI cases: subprocess
KZ_BIN = Path(sys.executable).with_name("kzcausal")


def run_cli(case: Case, timeout: float, mem_bytes: int) -> tuple[str, str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="kzaudit3-cli-"))
    try:
        return _run_cli(case, timeout, mem_bytes, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_cli(case: Case, timeout: float, mem_bytes: int, tmp: Path) -> tuple[str, str, float]:
    subs = {"tmp": str(tmp)}
    if case.setup is not None:
        subs.update(case.setup(tmp) or {})
    argv = [str(KZ_BIN), *[a.format(**subs) for a in case.argv]]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore", COLUMNS="200")
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, timeout=case.timeout or timeout,
                              preexec_fn=lambda: _limit_memory(mem_bytes))
    except subprocess.TimeoutExpired:
        return "hang", f"no answer within {case.timeout or timeout:.0f} s", time.perf_counter() - start
    elapsed = time.perf_counter() - start
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    result = dict(rc=proc.returncode, stdout=stdout, stderr=stderr, tmp=tmp, raw_stdout=proc.stdout)
    if proc.returncode < 0:
        return "abort", f"killed by signal {-proc.returncode}; stderr: {stderr[-200:]!r}", elapsed
    if "Traceback (most recent call last)" in stderr or "Traceback (most recent call last)" in stdout:
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["?"]
        return "raw", f"traceback, rc={proc.returncode}: {last[0][:240]}", elapsed
    if proc.returncode != 0:
        message = stderr.strip() or stdout.strip()
        if case.expect == "ok":
            return "unhelpful", f"refused a legitimate call (rc={proc.returncode}): {message[:220]!r}", elapsed
        if proc.returncode == 2 and not message.startswith("error:") and ("Usage:" in message or "Error" in message):
            # the command-line parser's own usage error (typer/click): it names the option; no Fix: line expected
            text = " ".join(line.strip(" │╭╮╰╯─") for line in message.splitlines() if line.strip(" │╭╮╰╯─"))
            low = text.lower()
            missing = [k for k in case.keywords if not any(alt.lower() in low for alt in k.split("|"))]
            return (("unhelpful", f"usage error does not name {missing}: {text[:200]}") if missing
                    else ("typed", f"usage error: {text[:200]}")) + (elapsed,)
        return (*judge_refusal(case, message, elapsed), elapsed)
    if case.expect == "error":
        problem = case.check(result, []) if case.check is not None else None
        return "silent", f"rc=0 instead of refusing ({problem or case.want})", elapsed
    problem = case.check(result, []) if case.check is not None else None
    if isinstance(problem, tuple):
        problem = problem[0]
    if problem:
        return "silent", problem, elapsed
    return "correct", f"rc=0 in {elapsed:.1f} s", elapsed


# --------------------------------------------------------------------------- main
def run_one(case: Case, timeout: float, mem_bytes: int) -> dict:
    if case.argv is not None:
        outcome, detail, elapsed = run_cli(case, timeout, mem_bytes)
    else:
        out = run_api(case, timeout, mem_bytes)
        outcome, detail = classify_api(case, out)
        elapsed = out.get("elapsed", float("nan"))
    detail = " | ".join(part.strip() for part in str(detail).splitlines() if part.strip())
    return dict(name=case.name, cls=case.cls, target=case.target, expect=case.expect, want=case.want,
                outcome=outcome, detail=detail, elapsed=round(float(elapsed), 3),
                kind="cli" if case.argv is not None else "api")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only the cases whose name contains this (case-insensitive)")
    parser.add_argument("--cls", default="", help="run only these classes, e.g. --cls ab")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    parser.add_argument("--timeout", type=float, default=60.0, help="wall-time limit per case, seconds")
    parser.add_argument("--mem-gib", type=float, default=4.0, help="address-space limit per case, GiB")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (API cases only fork)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    cases = [c for c in CASES if args.only.lower() in c.name.lower() and (not args.cls or c.cls in args.cls)]
    if args.list:
        for c in cases:
            print(f"{c.cls} {c.name}  [{c.expect}] {c.want}")
        print(f"{len(cases)} cases")
        return 0
    mem_bytes = int(args.mem_gib * 1024**3)
    print(f"kzcausal audit round 3: {len(cases)} cases, timeout {args.timeout:.0f} s, RLIMIT_AS {args.mem_gib:g} GiB",
          flush=True)
    results: list[dict | None] = [None] * len(cases)
    started = time.perf_counter()

    def report(i: int, r: dict) -> None:
        print(f"[{i + 1:3d}/{len(cases)}] {r['outcome']:<9} {r['cls']} {r['name']}: {r['detail'][:300]}", flush=True)

    if args.jobs <= 1:
        for i, case in enumerate(cases):
            results[i] = run_one(case, args.timeout, mem_bytes)
            report(i, results[i])
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_one, case, args.timeout, mem_bytes): i for i, case in enumerate(cases)}
            for future in futures:
                i = futures[future]
                results[i] = future.result()
                report(i, results[i])
    done = [r for r in results if r is not None]
    by_outcome = Counter(r["outcome"] for r in done)
    table: dict[str, Counter] = defaultdict(Counter)
    for r in done:
        table[r["cls"]][r["outcome"]] += 1
    print(f"\n{len(done)} cases in {time.perf_counter() - started:.0f} s")
    print("per outcome: " + ", ".join(f"{o} {by_outcome[o]}" for o in OUTCOMES))
    header = f"{'class':<44}" + "".join(f"{o:>10}" for o in OUTCOMES) + f"{'total':>8}"
    print(header)
    for c in CLASSES:
        if c in table:
            row = table[c]
            print(f"{c + ' ' + CLASS_NAMES[c]:<44}" + "".join(f"{row[o]:>10}" for o in OUTCOMES)
                  + f"{sum(row.values()):>8}")
    problems = [r for r in done if r["outcome"] not in ("typed", "correct")]
    if problems:
        print(f"\n{len(problems)} cases neither typed nor correct:")
        for r in sorted(problems, key=lambda r: (r["outcome"], r["cls"], r["name"])):
            print(f"  {r['outcome']:<9} {r['cls']} {r['name']}: {r['detail'][:240]}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(
            summary=dict(cases=len(done), per_outcome={o: by_outcome[o] for o in OUTCOMES},
                         per_class={c: dict(table[c]) for c in CLASSES if c in table},
                         timeout_s=args.timeout, mem_gib=args.mem_gib),
            results=done), indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
