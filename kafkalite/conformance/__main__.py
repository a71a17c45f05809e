"""Re-record Kafka's answers: ``python -m kafkalite.conformance record [-f FAMILY] [-s GLOB]``.

Starts Apache Kafka (``reference.py``, the pinned version), runs the chosen scenarios against it
and merges its normalised answers into ``kafkalite/conformance/transcripts/<family>.json``.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys

from kafkalite.conformance import corpus, runner
from kafkalite.conformance.reference import KAFKA_VERSION


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kafkalite.conformance", description=__doc__)
    parser.add_argument("command", choices=["record"])
    parser.add_argument("-f", "--family", action="append", default=[], help="only this family (repeatable)")
    parser.add_argument("-s", "--scenario", action="append", default=[], help="only scenario ids matching this glob")
    parser.add_argument("-b", "--bootstrap", help="an Apache Kafka already running (default: start the reference)")
    args = parser.parse_args(argv)
    scenarios = [s for s in corpus.load(args.family or None)
                 if not args.scenario or any(fnmatch.fnmatchcase(s.id, p) for p in args.scenario)]
    if args.bootstrap:
        count = runner.record(scenarios, args.bootstrap, kafka_version=KAFKA_VERSION)
    else:
        # One reference broker per distinct setup: overrides, extra listeners, SCRAM users (most families: none).
        groups: dict[corpus.BrokerSetup, list[corpus.Scenario]] = {}
        for scenario in scenarios:
            groups.setdefault(scenario.setup, []).append(scenario)
        count = 0
        for setup, group in groups.items():
            with runner.reference_for(setup) as kafka:
                listeners = {name: kafka.listener_bootstrap(name) for name, _ in setup.listeners}
                count += runner.record(group, kafka.bootstrap, kafka_version=KAFKA_VERSION, listeners=listeners,
                                       control=kafka)
    print(f"recorded {count} scenarios from Apache Kafka {KAFKA_VERSION} into {runner.transcripts_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
