from setuptools import find_packages, setup


def read_requirements(path):
    with open(path) as f:
        return [ln.split('#')[0].strip() for ln in f if ln.split('#')[0].strip()]


version = {}
with open('vidtoolbox/version.py') as f:
    exec(f.read(), version)

setup(
    name='vidtoolbox',
    version=version['__version__'],
    description='Plugin-based video restoration toolbox on MMEngine (deformable alignment, '
                'correspondence-wise losses, prediction through interpolation)',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['vidtoolbox', 'vidtoolbox.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache-2.0',
)
