# What every mixdet config adds to MMDetection's runtime: mixdet's modules registered in mmdet's registries
# (mixdet/modules.py; `import mixdet` alone registers nothing) and MixdetRunner, which reads checkpoints as data,
# loads them strictly and writes them atomically (mixdet/engine/runner.py).
custom_imports = dict(imports=['mixdet.modules'], allow_failed_imports=False)
runner_type = 'MixdetRunner'
