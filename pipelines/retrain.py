"""The drift-gated retraining pipeline.

ingest → validate → check → decide → ``dsl.If(retrain)``: train → evaluate →
``dsl.If(blessed)``: push, all inside a ``dsl.ExitHandler`` whose notify task alerts when the run
fails. Every consumer of a task sits in the same condition as its producer.
The config is compiled in; ``batch_uri``, ``registry_uri`` and ``force`` are run-time
parameters.
"""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace

from kfp import compiler, dsl

from driftgate.components.check.component import check
from driftgate.components.decide.component import decide
from driftgate.components.evaluate.component import evaluate
from driftgate.components.ingest.component import ingest
from driftgate.components.notify.component import notify
from driftgate.components.push.component import push
from driftgate.components.train.component import train
from driftgate.components.validate.component import validate
from driftgate.pipelines.config import Config
from driftgate.pipelines.config_checks import named_columns
from driftgate.pipelines.platform import apply_platform
from driftgate.pipelines.steps import STEPS

PIPELINE_NAME = "driftgate-retrain"


def make_components(images: str | Mapping[str, str]) -> SimpleNamespace:
    """Every step as a KFP component in its image (one for all, or one per step name).

    The images already hold kfp, so nothing is installed when a task starts.
    """
    steps = (ingest, validate, check, decide, train, evaluate, push, notify)
    return SimpleNamespace(
        **{
            step.__name__: dsl.component(
                step,
                base_image=images if isinstance(images, str) else images[step.__name__],
                install_kfp_package=False,
            )
            for step in steps
        }
    )


def build_pipeline(config: Config) -> Callable:
    """Builds the pipeline function for a config (run it locally or compile it)."""
    ops = make_components(config.step_images())
    model = config.model_name
    data = config.data.model_dump_json()
    drift = config.drift.model_dump_json()
    alerts = config.alerts.model_dump_json()
    gate = config.gate.model_dump_json()
    tracking = config.tracking.model_dump_json()
    run_id = dsl.PIPELINE_JOB_NAME_PLACEHOLDER

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description=f"Drift-gated retraining of {model}: validate, check drift and "
        "performance, and only then train, evaluate against the deployed model and push.",
    )
    def retrain(
        batch_uri: str = config.batch_uri,
        registry_uri: str = config.registry_uri,
        force: bool = False,
    ) -> None:
        notified = ops.notify(
            model_name=model, registry_uri=registry_uri, alerts=alerts, run_id=run_id
        )
        with dsl.ExitHandler(notified, name="retraining-run"):
            ingested = ops.ingest(
                source_uri=batch_uri, registry_uri=registry_uri, model_name=model, data=data
            )
            validated = ops.validate(
                batch=ingested.outputs["batch"],
                source_uri=ingested.outputs["source"],
                registry_uri=registry_uri,
                model_name=model,
                data=data,
                validation=config.validation.model_dump_json(),
                named_columns=json.dumps(list(named_columns(config))),
                alerts=alerts,
                run_id=run_id,
            )
            checked = ops.check(
                validated=validated.outputs["validated"],
                registry_uri=registry_uri,
                model_name=model,
                label=config.data.label,
                has_labels=validated.outputs["has_labels"],
                drift=drift,
                performance=config.performance.model_dump_json(),
                gate=gate,
            )
            decided = ops.decide(
                has_labels=validated.outputs["has_labels"],
                rows=validated.outputs["rows"],
                new_classes=validated.outputs["new_classes"],
                force=force,
                validated=validated.outputs["validated"],
                check_details=checked.outputs["details"],
                registry_uri=registry_uri,
                model_name=model,
                batch_sha256=ingested.outputs["sha256"],
                batch_source=ingested.outputs["source"],
                gate=gate,
                min_rows=config.drift.min_rows,
                alerts=alerts,
                run_id=run_id,
            )
            with dsl.If(decided.outputs["Output"] == True, name="retrain"):  # noqa: E712 (KFP condition)
                trained = ops.train(
                    validated=validated.outputs["validated"],
                    schema=validated.outputs["schema"],
                    source_uri=ingested.outputs["source"],
                    registry_uri=registry_uri,
                    model_name=model,
                    deployed_version=checked.outputs["deployed_version"],
                    batch_sha256=ingested.outputs["sha256"],
                    opened_by=decided.outputs["opened_by"],
                    training=config.training.model_dump_json(),
                    drift=drift,
                    check_details=checked.outputs["details"],
                    decision_record=decided.outputs["record"],
                    drift_report=checked.outputs["drift_report"],
                    run_id=run_id,
                    tracking=tracking,
                )
                evaluated = ops.evaluate(
                    model=trained.outputs["model"],
                    eval_data=trained.outputs["eval_data"],
                    training_data=trained.outputs["training_data"],
                    registry_uri=registry_uri,
                    model_name=model,
                    deployed_version=checked.outputs["deployed_version"],
                    evaluation=config.evaluation.model_dump_json(),
                    optimisation=config.optimisation.model_dump_json(),
                    alerts=alerts,
                    run_id=run_id,
                    tracking=tracking,
                )
                with dsl.If(evaluated.outputs["Output"] == True, name="blessed"):  # noqa: E712
                    pushed = ops.push(
                        model=trained.outputs["model"],
                        schema=trained.outputs["window_schema"],
                        reference_stats=trained.outputs["reference_stats"],
                        reference_sample=trained.outputs["reference_sample"],
                        training_data=trained.outputs["training_data"],
                        evaluation=evaluated.outputs["results"],
                        optimised_model=evaluated.outputs["optimised_model"],
                        registry_uri=registry_uri,
                        model_name=model,
                        deployed_version=checked.outputs["deployed_version"],
                        deployed_generation=checked.outputs["deployed_generation"],
                        keep_versions=config.registry.keep_versions or 0,
                        batch_sha256=ingested.outputs["sha256"],
                        batch_source=ingested.outputs["source"],
                        run_id=run_id,
                        alerts=alerts,
                        tracking=tracking,
                    )
        steps = (ingested, validated, checked, decided, trained, evaluated, pushed, notified)
        apply_platform(
            dict(zip(STEPS, steps, strict=True)), config.platform, config.alerts, config.tracking
        )

    return retrain


def compile_pipeline(config: Config, output: str | Path) -> Path:
    """Compiles the pipeline for ``config`` to a KFP v2 YAML file."""
    output = Path(output)
    compiler.Compiler().compile(build_pipeline(config), str(output))
    return output
