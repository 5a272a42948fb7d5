"""Retraining policies that replay compares: the config's gate and the usual baselines.

- ``never``: bootstrap only; the first model stays whatever happens.
- ``always``: retrain on every labelled batch.
- ``every:K``: retrain on every K-th batch (batch 0, K, 2K, …), as a fixed schedule would.
- ``gate``: the config's own gate (drift and performance checks, then decide).
- ``gate:OTHER.yaml``: another config's gate; everything but the gate comes from the main config.

Every policy bootstraps when no model is deployed yet, and none can train without labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from driftgate.components.decide import core as decide_core
from driftgate.components.decide.gate import Findings
from driftgate.errors import ConfigError
from driftgate.pipelines.config import Config, load_config
from driftgate.settings.gate import GateSettings

DEFAULT_POLICIES = ("never", "always", "every:5", "gate")
POLICY_HELP = "never | always | every:K | gate | gate:OTHER.yaml"
NO_TRIGGERS = GateSettings(retrain_on=[], drift_fallback=False)


@dataclass(frozen=True)
class Policy:
    """One retraining policy and the config whose gate settings it checks with."""

    name: str
    kind: str  # never | always | every | gate
    gate_config: Config
    every: int = 0

    @property
    def slug(self) -> str:
        """A file-name-safe form of the name."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", self.name).strip("-")

    def decide(self, index: int, findings: Findings, min_rows: int) -> decide_core.Decision:
        """The decision for the batch at position ``index`` (0-based) of the stream."""
        if self.kind == "gate":
            return decide_core.decide(findings, self.gate_config.gate, min_rows=min_rows)
        scheduled = self.kind == "always" or (self.kind == "every" and index % self.every == 0)
        if scheduled:
            return decide_core.decide(
                findings, NO_TRIGGERS, force=True, force_reason=f"policy {self.name}"
            )
        decision = decide_core.decide(findings, NO_TRIGGERS, min_rows=min_rows)
        if findings.has_model:
            reason = f"policy {self.name}: not a scheduled retrain"
            return decide_core.Decision(False, reason, decision.triggers)
        return decision


def parse_policy(text: str, config: Config, config_dir: Path | None = None) -> Policy:
    """Parses one ``--policy`` value.

    Args:
        text: The policy as written on the command line.
        config: The main config (the gate of ``gate``).
        config_dir: Where relative ``gate:FILE`` paths are looked up first.

    Raises:
        ConfigError: The policy is unknown, ``K`` is not a positive integer, or the other
            config cannot be loaded.
    """
    kind, _, argument = text.partition(":")
    if kind in ("never", "always") and not argument:
        return Policy(text, kind, config)
    if kind == "gate" and not argument:
        return Policy(text, "gate", config)
    if kind == "gate":
        path = Path(argument)
        if not path.is_file() and config_dir is not None and (config_dir / path).is_file():
            path = config_dir / path
        return Policy(text, "gate", load_config(path))
    if kind == "every" and argument.isdigit() and int(argument) > 0:
        return Policy(text, "every", config, int(argument))
    raise ConfigError(
        f"unknown policy {text!r}",
        file="--policy",
        hint=f"choose from {POLICY_HELP}, with K a positive integer",
    )


def parse_policies(texts: list[str], config: Config, config_dir: Path | None) -> list[Policy]:
    """Parses every ``--policy`` (the defaults when none is given); duplicates are refused."""
    policies = [parse_policy(t, config, config_dir) for t in (texts or DEFAULT_POLICIES)]
    names = [p.name for p in policies]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"policy {duplicate!r} is given twice", file="--policy")
    return policies
