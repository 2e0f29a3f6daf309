"""``mirencoder eval probes``: representation quality of frozen embeddings on programs
pre-training never saw (optimisation-invariance retrieval, compiler-decision prediction),
beside the untrained twin, the opcode histogram, IR2Vec and random vectors."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
    refuse_unusable_outputs,
)
from mirencoder.infra.errors import ConfigError
from mirencoder.infra.files import output_folder_problem
from mirencoder.training.evaluation.command_support import command_line
from mirencoder.training.evaluation.probes import (
    build_probe_featurizers,
    prepare_probe_programs,
    probes_markdown,
    run_probes,
)
from mirencoder.training.evaluation.probes.add_rows import add_probe_rows, check_recorded
from mirencoder.training.evaluation.probes.command_config import ProbesEvalConfig
from mirencoder.training.evaluation.probes.outputs import write_probe_outputs
from mirencoder.training.evaluation.probes.twin import resolve_untrained_twin, twin_choice
from mirencoder.training.evaluation.report_files import recorded_section, update_report

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ProbesEvalConfig, config_help="YAML file of probe settings")
    for key, flag, extra in (
            ("probes.model", "--model", {"metavar": "URI"}),
            ("probes.untrained_model", "--untrained-model",
             {"metavar": "URI", "help": "the untrained twin; 'auto' (the default) makes it "
                               "from --model, 'off' leaves it out"}),
            ("probes.dataset", "--dataset", {"metavar": "DIR",
                                             "help": "the pre-training dataset (held-out check)"}),
            ("probes.data_dir", "--data-dir", {"metavar": "DIR"}),
            ("probes.cache_dir", "--cache-dir", {"metavar": "DIR"}),
            ("probes.seed", "--seed", {"metavar": "N"}),
            ("out_dir", "--out-dir", {"metavar": "DIR"}),
            ("report_dir", "--report-dir", {"metavar": "DIR"}),
            ("add_rows", "--add-rows", {"const": "true",
                                        "help": "add this run's controls to the report's probe "
                                                "rows (same programs) instead of replacing them"})):
        add_shorthand(parser, ProbesEvalConfig, key, flag, **extra)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(ProbesEvalConfig, args)
    if print_if_dry_run(config, args, "resolved probe configuration (eval probes)"):
        return 0
    refuse_unusable_outputs(("--out-dir", output_folder_problem(config.out_dir)),
                            ("--report-dir", config.report_dir
                             and output_folder_problem(config.report_dir)))
    if config.add_rows:
        check_recorded(recorded_section(Path(config.report_dir), "probes"),
                       str(config.report_dir))
    probes = dataclasses.replace(config.probes, progress=not args.quiet)
    twin = twin_choice(probes.untrained_model)
    if probes.model and twin == "auto":
        if probes.basis and not probes.untrained_basis:
            raise ConfigError("probes.basis is set: the untrained twin needs its own basis; "
                              "give --untrained-model PACKAGE with probes.untrained_basis, or "
                              "--untrained-model off")
        twin = str(resolve_untrained_twin(probes.model, Path(config.out_dir) / "untrained-twin",
                                          seed=config.twin_seed))
    probes = dataclasses.replace(probes, untrained_model="" if twin in (None, "auto") else twin)
    featurizers, skipped, encoder = build_probe_featurizers(probes)
    data = prepare_probe_programs(probes)
    results = run_probes(probes, featurizers, data=data, skipped=skipped, encoder=encoder)
    paths = write_probe_outputs(results, Path(config.out_dir))
    print(probes_markdown(results))
    print("\nwrote " + ", ".join(str(p) for p in paths))
    if config.report_dir is not None:
        section = results.to_dict()
        if config.add_rows:
            section = add_probe_rows(recorded_section(Path(config.report_dir), "probes"),
                                     section, command_line("eval probes"))
        report = update_report(Path(config.report_dir), "probes", section)
        print(f"merged into {report['summary_json']} and {report['results_md']}")
    return 0
