"""Validates a CycloneDX 1.6 JSON file against the official schema (cyclonedx-python-lib).

Usage: python3 validate_cyclonedx.py FILE. Exit 0 when valid; 1 with the errors; 3 when the
library is missing.
"""
import sys

try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError as err:  # pragma: no cover
    print(f"cyclonedx-python-lib is missing ({err})", file=sys.stderr)
    sys.exit(3)

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
if error is not None:
    print(error, file=sys.stderr)
    sys.exit(1)
print("valid CycloneDX 1.6")
