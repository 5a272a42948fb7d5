"""Replays the policies one after another, or side by side in worker processes (``--jobs``).

Each policy has its own registry and work folder and reads the batches only, so policies share
nothing and can run at once. A worker is a fresh interpreter (``spawn``: TensorFlow is not safe
to fork), runs one policy and returns its records; they are put back in the policies' order,
so ``replay.json`` holds the same decisions, metrics and pushes for any ``--jobs``. Training
seconds are wall-clock times and differ: a fresh process pays its first training's warm-up.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from driftgate.pipelines.config import Config
from driftgate.pipelines.policies import Policy
from driftgate.pipelines.replay_record import BatchRecord


def replay_policy(
    config: Config,
    policy: Policy,
    batches: list[str],
    workdir: Path,
    label_delay: int,
    say: Callable[[str], None] = print,
) -> list[BatchRecord]:
    """One policy over every batch (its progress lines name the policy)."""
    from driftgate.pipelines.replay import PolicyRun

    return PolicyRun(config, policy, workdir, label_delay, say).run(batches)


def run_policies(
    config: Config,
    batches: list[str],
    policies: Sequence[Policy],
    output: Path,
    label_delay: int,
    jobs: int,
    say: Callable[[str], None],
) -> dict[str, list[BatchRecord]]:
    """Every policy's records, by name in the given order; ``jobs`` (1 or more) run at once."""
    folders = {p.name: output / "policies" / p.slug for p in policies}
    runs: dict[str, list[BatchRecord]] = {}
    if jobs == 1 or len(policies) < 2:
        for policy in policies:
            say(f"policy {policy.name}: {len(batches)} batch(es)")
            started = time.monotonic()
            runs[policy.name] = replay_policy(
                config, policy, batches, folders[policy.name], label_delay, say
            )
            say(f"policy {policy.name}: done in {time.monotonic() - started:.1f} s")
        return runs
    workers = min(jobs, len(policies))
    say(f"{len(policies)} policies, {workers} at a time, {len(batches)} batch(es) each")
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {
            pool.submit(replay_policy, config, p, batches, folders[p.name], label_delay): p.name
            for p in policies
        }
        for future in as_completed(futures):
            name = futures[future]
            runs[name] = future.result()
            say(f"policy {name}: done after {time.monotonic() - started:.1f} s")
    return {p.name: runs[p.name] for p in policies}
