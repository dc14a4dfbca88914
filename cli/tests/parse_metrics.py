"""Parses a Prometheus text exposition (standard input) with the Prometheus project's own Python parser and prints
each family as JSON: {name: {"type": ..., "samples": [[sample name, labels, value], ...]}}. A line the parser
rejects ends it with a traceback and a non-zero exit."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
json.dump(families, sys.stdout, indent=1, sort_keys=True)
