"""Maps the top-level folders pipelines/, training/ and infra/ to mirencoder.* packages.

All metadata lives in pyproject.toml; this file only lists the packages, because
setuptools' automatic discovery cannot follow a renamed package directory.
"""

from setuptools import find_packages, setup

MAPPED = {"mirencoder": "mirencoder", "mirencoder.pipelines": "pipelines",
          "mirencoder.training": "training", "mirencoder.infra": "infra"}

packages = []
for package, folder in MAPPED.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

setup(packages=packages)
