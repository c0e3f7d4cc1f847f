"""Registries of vidtoolbox: one child of every MMEngine root registry, scope ``vidtoolbox``.

Every plugin registers itself with one of these (``@MODELS.register_module()``). Configs set
``default_scope = 'vidtoolbox'``; the ``locations`` below are imported lazily the first time a
registry is asked to build something, so ``import vidtoolbox`` stays light.

Every registry an MMEngine run touches (runner, loops, hooks, optimizers, optimizer-wrapper constructors, log
processors, weight initialisers, …) has a child here, so building anything in the ``vidtoolbox`` scope finds it
without MMEngine's "Failed to search registry with scope" fallback; what the toolbox does not define itself is
found in MMEngine's parent registry.

A user's own module lives in any importable file, is registered with these registries (or with
MMEngine's root ones) and is named in a config's ``custom_imports``; nothing in the toolbox is edited.
"""
from mmengine import registry as _mm
from mmengine.registry import Registry

SCOPE = 'vidtoolbox'


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    return Registry(name, parent=parent, scope=SCOPE, locations=list(locations))


# what the toolbox defines (lazy locations are imported on first build)
MODELS = _child('model', _mm.MODELS, 'vidtoolbox.models')
DATASETS = _child('dataset', _mm.DATASETS, 'vidtoolbox.datasets')
DATA_SAMPLERS = _child('data sampler', _mm.DATA_SAMPLERS, 'vidtoolbox.datasets')
TRANSFORMS = _child('transform', _mm.TRANSFORMS, 'vidtoolbox.datasets.transforms')
METRICS = _child('metric', _mm.METRICS, 'vidtoolbox.evaluation')
EVALUATOR = _child('evaluator', _mm.EVALUATOR, 'vidtoolbox.evaluation')
HOOKS = _child('hook', _mm.HOOKS, 'vidtoolbox.engine')
RUNNERS = _child('runner', _mm.RUNNERS, 'vidtoolbox.engine')
LOG_PROCESSORS = _child('log_processor', _mm.LOG_PROCESSORS, 'vidtoolbox.engine')
# MMEngine's own implementations, reached through the parent registries
MODEL_WRAPPERS = _child('model_wrapper', _mm.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', _mm.WEIGHT_INITIALIZERS)
LOOPS = _child('loop', _mm.LOOPS)
OPTIMIZERS = _child('optimizer', _mm.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', _mm.OPTIM_WRAPPERS, 'vidtoolbox.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', _mm.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', _mm.PARAM_SCHEDULERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', _mm.RUNNER_CONSTRUCTORS)
STRATEGIES = _child('strategy', _mm.STRATEGIES)
TASK_UTILS = _child('task util', _mm.TASK_UTILS)
VISUALIZERS = _child('visualizer', _mm.VISUALIZERS)
VISBACKENDS = _child('vis_backend', _mm.VISBACKENDS)
FUNCTIONS = _child('function', _mm.FUNCTIONS)
INFERENCERS = _child('inferencer', _mm.INFERENCERS)
