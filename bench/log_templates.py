"""Log template mining on Loghub-2k: our miner vs Drain3, same run, one generic config.

Runs the shared Loghub evaluation script (not part of this repository; its data is never
copied here) on `deploy_assistant.reduce.templates:parse_loghub` with `--baseline drain3`, then
writes bench/results/log_templates.json with per-system GA/FGA/PA, the speedup over Drain3 and
a README-ready Markdown table.

    .venv/bin/python -m bench.log_templates [--script PATH] [--data DIR] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "log_templates.json"
PARSER = "deploy_assistant.reduce.templates:parse_loghub"
DEFAULT_SCRIPT = ROOT.parent / "shared" / "bench" / "loghub_eval.py"
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "loghub-2k"


def run_eval(script: Path, data: Path, repeat: int, stream: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "eval.json"
        command = [sys.executable, str(script), PARSER, "--baseline", "drain3", "--data", str(data)]
        command += ["--repeat", str(repeat), "--stream", str(stream), "--json", str(out)]
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def _metric(row: dict[str, Any], name: str) -> tuple[str, float | None]:
    """Corrected ground truth where Loghub-2.0 has it, else the original one."""
    for truth in ("corrected", "original"):
        if f"{truth}.{name}" in row:
            return truth, float(row[f"{truth}.{name}"])
    return "-", None


def markdown_table(result: dict[str, Any]) -> str:
    lines = [
        "| System | GT | GA | Drain3 GA | FGA | PA | speedup vs Drain3 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        truth, ga = _metric(row, "GA")
        base = row.get(f"baseline.{truth}.GA")
        cells = [row["system"], truth[:4], f"{ga:.3f}", f"{base:.3f}"]
        cells += [f"{_metric(row, m)[1]:.3f}" for m in ("FGA", "PA")]
        cells.append(f"{row['speedup']:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    s = result["summary"]
    lines.append(
        f"| **mean, 14 systems (corrected)** | corr | **{s['corrected.GA.mean14']:.3f}** "
        f"| {s['baseline.corrected.GA.mean14']:.3f} | {s['corrected.FGA.mean14']:.3f} "
        f"| {s['corrected.PA.mean14']:.3f} | {s['speedup_overall']:.2f}x |"
    )
    lines.append(
        f"| **mean, 16 systems (original)** | orig | **{s['original.GA.mean16']:.3f}** "
        f"| {s['baseline.original.GA.mean16']:.3f} | {s['original.FGA.mean16']:.3f} "
        f"| {s['original.PA.mean16']:.3f} | stream {s.get('stream_speedup', 0):.2f}x |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--script", type=Path, default=DEFAULT_SCRIPT)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--stream", type=int, default=5)
    args = parser.parse_args()
    if not args.script.is_file() or not args.data.is_dir():
        print(f"Loghub evaluation script or data not found ({args.script}, {args.data}).")
        return 2
    result = run_eval(args.script, args.data, args.repeat, args.stream)
    table = markdown_table(result)
    keep = ("GA", "FGA", "PA", "FTA", "speedup", "lines_per_s", "baseline")
    rows = [
        {k: v for k, v in row.items() if k == "system" or any(m in k for m in keep)}
        for row in result["rows"]
    ]
    summary = {"parser": PARSER, "baseline": "drain3", **result["summary"]}
    payload = {"env": result["env"], "summary": summary, "rows": rows, "table_markdown": table}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
