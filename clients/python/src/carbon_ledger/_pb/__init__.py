"""Generated from proto/proto/carbon/v1/carbon.proto by tools/gen_stubs.py: do not edit."""
