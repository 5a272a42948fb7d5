"""Maps the repository's top-level folders onto the single ``driftgate`` import package.

``driftgate/`` holds the shared library, ``components/`` the pipeline steps and ``pipelines/``
the DAG, config and CLI; they install as ``driftgate``, ``driftgate.components`` and
``driftgate.pipelines``.
"""

from setuptools import find_packages, setup

SUBPACKAGES = {"components": "driftgate.components", "pipelines": "driftgate.pipelines"}

packages = ["driftgate", *(f"driftgate.{p}" for p in find_packages("driftgate"))]
package_dir = {"driftgate": "driftgate"}
for folder, name in SUBPACKAGES.items():
    package_dir[name] = folder
    packages += [name, *(f"{name}.{p}" for p in find_packages(folder))]

setup(packages=packages, package_dir=package_dir)
