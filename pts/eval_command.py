"""`pts eval`: replay CI histories and score the selector beside simple baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pts.core.errors import ConfigError
from pts.extras import needs_extra
from pts.options import settings
from pts.selection.safety_nets import DEFAULT_STARVE_AFTER_BUILDS, DEFAULT_STARVE_AFTER_DAYS, Nets


def evaluate(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="commons_<p>.csv, a RETECS .csv, a JUnit history directory, or synthetic[:seed]."
        ),
    ] = None,
    ranker: Annotated[
        list[str] | None,
        typer.Option(
            "--ranker",
            "-r",
            help="Run only this ranker (repeatable): random, recent-failure, "
            "recency-per-second, failure-rate, selector (the served champion), "
            "selector-forest, selector-tree, or one candidate scorer on its own: "
            "pts:recent-failure, pts:failure-rate, pts:bayes, pts:changes, pts:learned. "
            "Default: the baselines and the selector.",
        ),
    ] = None,
    all_in: Annotated[
        Path | None,
        typer.Option(
            "--all",
            help="Replay every history in this folder (and --synthetic ones) through every "
            "ranker and candidate; write one summary table (Markdown, JSON) and one plot.",
        ),
    ] = None,
    synthetic: Annotated[
        int, typer.Option(help="With --all: also this many synthetic histories (seeds 0..N-1).")
    ] = 3,
    doc: Annotated[
        Path | None,
        typer.Option(
            help="With --all: also replace the generated sections of this Markdown file "
            "(e.g. docs/quality.md): the summary, the safety nets, the changes of champion."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the PNG and the JSON.")] = Path(
        "evaluation/out"
    ),
    seeds: Annotated[int, typer.Option(help="Seeds the random order is averaged over.")] = 5,
    min_candidates: Annotated[
        int, typer.Option(help="Score only failing cycles with at least this many candidate tests.")
    ] = 5,
    limit: Annotated[int | None, typer.Option(help="Replay only the first N cycles.")] = None,
    through_broker: Annotated[
        bool,
        typer.Option(
            "--through-broker",
            help="Also rank through the real broker (selector-via-broker), answered by a "
            "worker of the evaluation's own on topics of its own, deleted when it ends.",
        ),
    ] = False,
    starve_after_builds: Annotated[
        int,
        typer.Option(
            min=0,
            help="Safety nets scored beside the selector's ranking, as on `pts subset`: run a "
            "test with no result in this many builds (0: off).",
        ),
    ] = DEFAULT_STARVE_AFTER_BUILDS,
    starve_after_days: Annotated[
        float,
        typer.Option(
            min=0,
            help="Safety nets scored: run a test with no result in this many days, counted "
            "in the builds' own time (0: off).",
        ),
    ] = DEFAULT_STARVE_AFTER_DAYS,
    full_run_every: Annotated[
        int,
        typer.Option(
            min=0, help="Safety nets scored: run every candidate every N builds (0: never)."
        ),
    ] = 0,
) -> None:
    """Replay a CI history in time order and score the selector beside the baselines, and
    what its safety nets add to its subsets."""
    if (dataset is None) == (all_in is None):
        raise ConfigError("give either a DATASET or --all FOLDER")
    nets = Nets(
        starve_after_builds=starve_after_builds,
        starve_after_days=starve_after_days,
        full_run_every=full_run_every,
    )
    with needs_extra("eval", "eval"):
        if all_in is not None:
            from pts.evaluation.summary import run_all

            run_all(
                all_in, out, synthetic, seeds, min_candidates, doc, typer.echo,
                settings().datasets_dir, nets,
            )  # fmt: skip
            return
        from pts.evaluation.command import run_evaluation

        run_evaluation(
            dataset, ranker, out, seeds, min_candidates, limit, typer.echo, through_broker, nets
        )
