"""The HDF5 run file: its schema (:mod:`qplane.runfile.schema`) and writer."""

from qplane.runfile.schema import SCHEMA, SCHEMA_VERSION, TABLES
from qplane.runfile.writer import RunFileWriter, package_versions

__all__ = ["SCHEMA", "SCHEMA_VERSION", "TABLES", "RunFileWriter", "package_versions"]
