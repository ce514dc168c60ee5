"""The curated breakages of ``tools/dev/mutation_check.py``: each is a bug a user would suffer from.

A mutation names the exact text it replaces (each ``old`` must occur exactly once in its file when it is
applied, else the check reports the mutation as STALE) and the tests that should notice: pytest node ids
(a file, ``file::test`` or ``file::test[id]``) and an optional ``-k`` expression. Keep the selections small:
the whole list runs on a loaded 2-core machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Edit:
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]
    k: Optional[str] = None
    timeout: Optional[float] = None  # seconds; the check's --timeout when None

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(e.path for e in self.edits))


def mutation(name: str, description: str, path: str, old: str, new: str, *tests: str, **kwargs) -> Mutation:
    """A mutation of one edit."""
    return Mutation(name, description, (Edit(path, old, new),), tests, **kwargs)


REFERENCE = 'mixdet/ops/mixconv_reference.py'
MIXNET = 'mixdet/models/backbones/mixnet.py'
CPU_KERNEL = 'mixdet/ops/csrc/cpu/mixconv_kernel.cpp'
CHECKED_COCO = 'mixdet/datasets/checked_coco.py'
RUNNER = 'mixdet/engine/runner.py'
HOOK = 'mixdet/engine/checkpoint_hook.py'
OP_TESTS = 'tests/test_ops/test_mixconv_op.py'
AUTOCAST_TESTS = 'tests/test_ops/test_mixconv_autocast.py'
BACKBONE_TESTS = 'tests/test_models/test_backbones/test_mixnet_backbone.py'
PARITY = 'tests/test_models/test_backbones/test_timm_parity.py'
PARITY_S = f'{PARITY}::test_converted_weights_reproduce_timm[mixnet-s]'
CONFIG_TESTS = 'tests/test_configs/test_configs.py'
POSTPROCESSING_TESTS = 'tests/test_deploy/test_postprocessing.py'
SECURITY_TESTS = 'tests/test_engine/test_checkpoint_security.py'
READER = 'mixdet/checkpoint/data_reader.py'
STATE_DICT = 'mixdet/checkpoint/state_dict.py'
DOWNLOAD = 'mixdet/checkpoint/download.py'
SCHEMES = 'mixdet/engine/checkpoint_schemes.py'
READER_TESTS = 'tests/test_checkpoint/test_data_reader.py'
DOWNLOAD_TESTS = 'tests/test_checkpoint/test_download.py'
HOOK_TESTS = 'tests/test_engine/test_checkpoint_hook.py'
RESUME_TESTS = 'tests/test_engine/test_resume.py'
TIMM_TESTS = 'tests/test_models/test_backbones/test_pretrained_timm.py'

MUTATIONS = [
    # --- the MixConv op
    mutation('split-remainder-last', 'TF channel split: the remainder goes to the last group, not the first',
             REFERENCE, '    sizes[0] += channels - sum(sizes)', '    sizes[-1] += channels - sum(sizes)',
             'tests/test_ops/test_mixconv_reference.py::test_split_channels_follows_tf_rule'),
    mutation('same-pad-side', "TF 'same' padding puts the odd pad before (top/left) instead of after",
             'mixdet/ops/geometry.py', '    return total // 2, total - total // 2',
             '    return total - total // 2, total // 2',
             'tests/test_ops/test_mixconv_reference.py::test_same_padding_matches_tensorflow'),
    mutation('cpu-stride2-tap', 'CPU kernel: odd kernel columns read the wrong phase column at stride 2 (forward '
             'of wide planes, weight gradient)', CPU_KERNEL,
             '* geo.cols + col / plan.stride;', '* geo.cols + (col + plan.stride - 1) / plan.stride;',
             f'{OP_TESTS}::test_matches_reference_float64'),
    mutation('cpu-narrow-column-stride', 'CPU kernel: the forward of narrow planes (< 20 columns) ignores the '
             'column stride', CPU_KERNEL,
             'base[o] = ((oc / plan.w_out) * s * cols + (oc % plan.w_out) * s) * L;',
             'base[o] = ((oc / plan.w_out) * s * cols + (oc % plan.w_out)) * L;',
             f'{OP_TESTS}::test_matches_reference_float64'),
    mutation('cpu-input-grad-transposed', 'CPU kernel: the input gradient uses the transposed kernel', CPU_KERNEL,
             'w[kh * g.k + kw]), (lead', 'w[kw * g.k + kh]), (lead',
             f'{OP_TESTS}::test_matches_reference_float64'),
    mutation('cuda-forward-barrier', 'CUDA forward kernel: no barrier between loading the shared-memory tiles '
             'and reading them', 'mixdet/ops/csrc/cuda/mixconv_kernels.cuh',
             '(strips * R - 1) * S + K, t.pitch,\n      t.channel, s_in);\n  __syncthreads();\n',
             '(strips * R - 1) * S + K, t.pitch,\n      t.channel, s_in);\n',
             'tests/test_ops/test_cuda_emulation.py::test_kernel_sizes_strides_paddings[torch.float32]'),
    mutation('fused-bias-dropped', 'mixconv2d(impl=fused) ignores the bias', 'mixdet/ops/mixconv.py',
             '        out = out + bias.view(1, -1, 1, 1)', '        out = out',
             f'{OP_TESTS}::test_channels_last_noncontiguous_bias_and_dilation'),
    mutation('cpu-auto-rule-training', "impl='auto' on CPU runs split/conv/cat for float32 training too (the "
             'slow backward)', 'mixdet/ops/mixconv.py',
             "input.dtype == torch.float32 and not needs_grad", 'input.dtype == torch.float32',
             f'{OP_TESTS}::test_cpu_auto_rule_runs_reference_for_fp32_inference'),
    mutation('autocast-args-dropped', 'mixconv2d no longer applies autocast to its arguments',
             'mixdet/ops/mixconv.py',
             '    input, weights, bias = autocast_arguments(input, weights, bias)\n    kernels =', '    kernels =',
             f'{AUTOCAST_TESTS}::test_mixconv2d_runs_in_the_autocast_dtype_with_float32_gradients'),
    mutation('op-autocast-kernel-no-cast', "the op's Autocast kernels call it without casting",
             'mixdet/ops/autocast.py', '                return op(*cast_to(args, device_type, dtype))',
             '                return op(*args)',
             f'{AUTOCAST_TESTS}::test_op_has_autocast_kernels'),
    mutation('flops-per-group-channels', 'FLOP formula of the fused op forgets the channels of each group',
             'mixdet/ops/complexity.py', 'sum(c * kh * kw for c, _, kh, kw in w_shapes)',
             'sum(kh * kw for c, _, kh, kw in w_shapes)',
             'tests/test_ops/test_complexity.py::test_fused_op_counts_the_flops_of_split_conv_cat'),
    # --- the MixNet backbone
    mutation('out-indices-order', 'taps come in the order of out_indices, not in network order', MIXNET,
             '        return tuple(t for t in order if t in out_indices)', '        return tuple(out_indices)',
             f'{BACKBONE_TESTS}::test_output_order_does_not_depend_on_out_indices_order'),
    mutation('frozen-stages-off-by-one', 'frozen_stages=k freezes stages 0..k-2 only', MIXNET,
             'self.blocks[:max(self.frozen_stages, 0)]', 'self.blocks[:max(self.frozen_stages - 1, 0)]',
             f'{BACKBONE_TESTS}::test_frozen_stages_stay_frozen_in_train_mode'),
    mutation('norm-eval-ignored', 'norm_eval=True leaves BatchNorm in train mode', MIXNET,
             '        if mode and self.norm_eval:', '        if not mode and self.norm_eval:',
             f'{BACKBONE_TESTS}::test_norm_eval_keeps_statistics_fixed'),
    mutation('with-cp-ignored', 'with_cp=True does not checkpoint the blocks', MIXNET,
             '        self.with_cp = with_cp', '        self.with_cp = False',
             f'{BACKBONE_TESTS}::test_with_cp_recomputes_blocks_and_gives_same_outputs_and_gradients'),
    mutation('se-hard-sigmoid', 'squeeze-excite gates with a hard sigmoid instead of the sigmoid',
             'mixdet/layers/blocks.py', '        return x * scale.sigmoid()',
             '        return x * torch.nn.functional.hardsigmoid(scale)', PARITY_S),
    mutation('ir-residual-dropped', 'inverted residual blocks lose their skip connection', 'mixdet/layers/blocks.py',
             '        return (out + x if self.has_residual else out), expansion', '        return out, expansion',
             PARITY_S),
    mutation('channel-divisor-4', 'channels rounded to multiples of 4 (MixNet-L widths, timm weights no longer fit)',
             'mixdet/archs/widths.py', 'CHANNEL_DIVISOR = 8', 'CHANNEL_DIVISOR = 4',
             'tests/test_archs/test_decode.py::test_make_divisible_matches_mixnet_l_widths'),
    # --- weights
    mutation('converter-keeps-classifier', 'the timm converter keeps the classifier weights',
             'mixdet/models/backbones/mixnet_timm.py',
             '    backbone = {k: v for k, v in state.items() if not k.startswith(TIMM_CLASSIFIER)}',
             '    backbone = dict(state)',
             f'{PARITY}::test_converted_keys_load_strictly_and_classifier_is_dropped'),
    Mutation('strict-load-ignores-missing', 'strict loading lets missing keys through (left at random init)',
             (Edit(STATE_DICT, 'problems = dict(missing=sorted(set(expected) - set(state)), ',
                   'problems = dict(missing=[], '),
              Edit(STATE_DICT, '    module.load_state_dict(state, strict=True)\n',
                   '    module.load_state_dict(state, strict=False)\n')),
             (f'{BACKBONE_TESTS}::test_pretrained_missing_a_key_is_refused',)),
    # --- detector and configs
    mutation('neck-width-unchecked', 'an explicit neck.in_channels that does not match the backbone is accepted',
             'mixdet/models/detectors/ssdlite.py', '    elif tuple(in_channels) != taps:',
             '    elif len(in_channels) != len(taps):',
             f'{CONFIG_TESTS}::test_mismatched_neck_channels_name_the_expected_ones'),
    mutation('ssd-head-cannot-predict', "MixdetSSDHead without mmdet 3.3.0's missing loss_cls (predict fails)",
             'mixdet/models/dense_heads/ssd_head.py', '        self.loss_cls = None\n', '',
             f'{CONFIG_TESTS}::test_ssd_head_predicts_boxes'),
    mutation('m-config-builds-s', 'the SSDLite-MixNet-M COCO config builds MixNet-S',
             'configs/ssdlite_mixnet/ssdlite_mixnet-m-scratch_8xb24-600e_coco.py', "arch='m'", "arch='s'",
             f'{CONFIG_TESTS}::test_each_config_builds_its_named_backbone'),
    mutation('coco-drop-last-off', 'the COCO train loader keeps a last batch of one image (BatchNorm fails on it)',
             'configs/ssdlite_mixnet/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', 'drop_last=True,',
             'drop_last=False,',
             'tests/test_configs/test_coco_layout.py'),
    mutation('data-root-misses-evaluators', '--cfg-options data_root=... does not reach the COCO evaluators',
             'mixdet/engine/config_setup.py', 'if ann_file and ann_file.startswith(old_root):',
             'if ann_file and ann_file.startswith(new_root):',
             'tests/test_engine/test_config_setup.py::test_data_root_reaches_datasets_and_evaluators'),
    # --- datasets
    mutation('absurd-box-kept', 'a box reaching absurdly far outside its image (1e30) is trained on, as mmdet does',
             'mixdet/datasets/box_check.py', '        return ABSURD', '        return None',
             'tests/test_datasets/test_bad_input.py::test_unusable_boxes_are_skipped_and_counted_by_reason'),
    mutation('undecodable-image-not-skipped', "undecodable training images stop training (mmcv's message not "
             'recognised)', CHECKED_COCO, "DECODE_FAILURE = 'failed to load image'",
             "DECODE_FAILURE = 'Failed to load image'",
             'tests/test_datasets/test_bad_input.py::test_corrupt_images_are_skipped_and_counted_when_training'),
    mutation('missing-images-evaluated', 'missing image files are skipped in evaluation too, which then scores '
             'another set of images', CHECKED_COCO, '        if self.test_mode:\n            self._check_evaluable()\n',
             '',
             'tests/test_datasets/test_bad_input.py::test_missing_image_files_skip_in_training_and_fail_in_testing'),
    mutation('class-order-unchecked', 'metainfo classes in another order than the file\'s categories are accepted '
             '(predictions carry the wrong names)', 'mixdet/datasets/category_check.py',
             '    if file_order != list(classes):', '    if False:',
             'tests/test_datasets/test_bad_input.py::test_malformed_class_lists_are_refused'),
    mutation('evaluator-file-unchecked', 'an evaluator reading another annotation file than its dataset is accepted',
             'mixdet/datasets/data_check_hook.py', '        if osp.realpath(ann_file) != osp.realpath(dataset_file):',
             '        if False:', 'tests/test_datasets/test_data_check.py',
             k='fit_the_data'),
    mutation('shapes-bbox-off-by-one', 'shapes dataset: boxes one pixel too narrow (bbox from mask)',
             'mixdet/datasets/shapes.py', 'float(cols[-1] + 1 - x0)', 'float(cols[-1] - x0)',
             'tests/test_datasets/test_shapes_dataset.py::test_boxes_are_tight_around_the_full_shape_mask'),
    mutation('shapes-area-of-full-mask', 'shapes dataset: area of the full shape, not of its visible part',
             'mixdet/datasets/shapes.py', "area=int(shape['visible'].sum())", "area=int(shape['mask'].sum())",
             'tests/test_datasets/test_shapes_dataset.py::test_occluded_objects_are_kept_only_while_mostly_visible'),
    # --- checkpoints: the data-only reader, downloads, resume
    mutation('weights-only-off', 'checkpoints are read with the full unpickler (code in a file runs)',
             READER, 'map_location=map_location, weights_only=True)', 'map_location=map_location, weights_only=False)',
             f'{READER_TESTS}::test_the_refusal_names_every_global_outside_the_admitted_ones'),
    mutation('reader-admits-one-more', 'the reader admits one more global (os.system) besides the listed ones',
             READER, 'ADMITTED_GLOBALS = [*_numpy_globals(), *STAND_INS.values()]',
             "ADMITTED_GLOBALS = [*_numpy_globals(), *STAND_INS.values(), __import__('os').system]",
             f'{READER_TESTS}::test_the_admitted_globals_are_exactly_these'),
    mutation('getattr-real', "the reader's getattr looks the attribute up (a planted chain reaches eval)",
             'mixdet/checkpoint/inert.py', '    return InertAttribute(owner, name)\n',
             '    return getattr(owner, name)\n',
             f'{READER_TESTS}::test_each_admitted_stand_in_only_records'),
    mutation('mmengine-schemes-not-installed', "mmengine's own loaders stay in place (a URL in any init_cfg runs code)",
             SCHEMES, '\n\ninstall()\n', '\n', 'tests/test_checkpoint/test_url_payloads.py',
             k='mixnet-list or mobilenetv2-dict or scheme'),
    mutation('meta-config-kept', "meta['config'] of a resumed checkpoint reaches mmengine (which evaluates it)",
             SCHEMES, "meta.pop('config', None) is not None", "meta.get('config') is not None",
             f'{SECURITY_TESTS}::test_config_text_in_a_checkpoint_is_never_evaluated'),
    mutation('resume-weights-only-allowed', 'resuming from a weights-only checkpoint restarts the schedule silently',
             RUNNER, '            self._check_training_state(checkpoint, filename)\n', '',
             f'{SECURITY_TESTS}::test_resuming_from_weights_only_checkpoint_is_refused'),
    mutation('message-hub-not-plain', 'checkpoints store the message hub as mmengine objects',
             RUNNER, "            checkpoint['message_hub'] = message_hub_to_plain(checkpoint['message_hub'])",
             '            pass', f'{SECURITY_TESTS}::test_saved_checkpoints_are_plain_data'),
    mutation('scheduler-not-resumed', '--resume does not restore the learning-rate schedule (it restarts)',
             RUNNER, '            super().resume(filename, *args, **kwargs)',
             '            super().resume(filename, resume_param_scheduler=False)', RESUME_TESTS),
    mutation('message-hub-not-resumed', "--resume drops the run's message hub (log history, best score)",
             RUNNER, "            checkpoint['message_hub'] = message_hub_state(checkpoint['message_hub'], filename, "
             "HistoryBuffer)",
             "            checkpoint['message_hub'] = dict(log_scalars={}, runtime_info={}, resumed_keys={})",
             RESUME_TESTS),
    mutation('runtime-info-unchecked', "a resumed message hub's best_score/iter/paths are taken unchecked",
             'mixdet/checkpoint/message_hub.py', '        problem = _runtime_problem(key, value)',
             '        problem = None',
             f'{READER_TESTS}::test_runtime_info_of_the_wrong_type_is_refused_before_resuming'),
    mutation('nan-weights-accepted', 'weights holding NaN load (and evaluate to nonsense with exit 0)',
             STATE_DICT, 'if v.is_floating_point() and not bool(torch.isfinite(v).all())]',
             'if False]', f'{READER_TESTS}::test_weights_with_nan_are_refused'),
    # --- timm's checkpoints by URL / safetensors (Pretrained), downloads
    mutation('timm-classifier-kept', "timm's classifier.* is not dropped (timm checkpoints are refused)",
             MIXNET, 'optional_prefixes=(TIMM_CLASSIFIER, *head)', 'optional_prefixes=head',
             f'{TIMM_TESTS}::test_timm_checkpoint_from_url_reproduces_timm_and_is_cached'),
    mutation('url-not-cached', 'a URL is downloaded again on every load',
             DOWNLOAD, '    if os.path.isfile(final):\n        return read(final, url)\n', '',
             f'{TIMM_TESTS}::test_timm_checkpoint_from_url_reproduces_timm_and_is_cached'),
    mutation('cache-keyed-by-name', 'the download cache is keyed by file name (another host\'s file stands in)',
             DOWNLOAD, 'key = hashlib.sha256(url.encode()).hexdigest()[:16]', "key = 'shared'",
             f'{DOWNLOAD_TESTS}::test_the_cache_is_keyed_by_the_whole_url'),
    mutation('bad-download-cached', 'a download that is not a checkpoint stays in the cache (every run fails)',
             DOWNLOAD, '        result = read(partial, url)\n    except BaseException:\n        _remove(partial)\n',
             '        result = read(partial, url)\n    except BaseException:\n        commit_file(partial, final)\n',
             f'{TIMM_TESTS}::test_non_checkpoint_response_is_refused_and_not_cached'),
    mutation('download-in-place', 'a download is written under its final name (a killed one is trusted next time)',
             DOWNLOAD, "    partial = os.path.join(folder, f'.{name}.partial-{os.getpid()}-{secrets.token_hex(4)}')",
             '    partial = final', f'{DOWNLOAD_TESTS}::test_a_killed_download_leaves_nothing_the_next_run_trusts'),
    mutation('download-size-unchecked', 'a declared size over the limit is downloaded anyway',
             DOWNLOAD, 'if length is not None and length.isdigit() and int(length) > max_bytes:', 'if False:',
             f'{DOWNLOAD_TESTS}::test_a_declared_size_over_the_limit_is_refused_before_downloading'),
    mutation('hash-in-name-unchecked', 'a file whose sha256 does not match the hash in its name is used',
             DOWNLOAD, '        if prefix and not _sha256(partial).startswith(prefix):', '        if False:',
             f'{DOWNLOAD_TESTS}::test_a_hash_in_the_name_is_checked'),
    mutation('safetensors-via-torch-load', '.safetensors go through torch.load',
             READER, "    if (name or os.fspath(path)).endswith('.safetensors'):", '    if False:',
             f'{TIMM_TESTS}::test_garbage_safetensors_file_is_refused'),
    mutation('download-error-raw', "a failed download raises urllib's error, not one line naming the URL",
             DOWNLOAD, 'except (OSError, http.client.HTTPException) as error:',
             'except http.client.HTTPException as error:', f'{TIMM_TESTS}::test_missing_url_is_refused'),
    mutation('garbage-safetensors-raw', "an unreadable .safetensors raises safetensors' own error",
             READER, 'except (SafetensorError, OSError, ValueError) as error:',
             'except (OSError, ValueError) as error:',
             f'{TIMM_TESTS}::test_garbage_safetensors_file_is_refused'),
    # --- the checkpoint hook: atomic, only its own files, settings that keep checkpoints
    Mutation('outdated-removed-before-save', 'the outdated checkpoint is removed before the new one is written '
             '(a kill then leaves none)',
             (Edit(HOOK, '        runner.save_checkpoint(self.out_dir,',
                   '        if outdated is not None:\n'
                   '            self._remove_own(outdated)\n'
                   '        runner.save_checkpoint(self.out_dir,'),
              Edit(HOOK,
                   '        if outdated is not None:\n            self._remove_own(outdated, keep=self.last_ckpt)\n',
                   '')),
             (f'{HOOK_TESTS}::test_a_save_that_dies_leaves_the_previous_checkpoint',)),
    mutation('best-removed-before-save', 'the previous best checkpoint is removed before the new one is written',
             HOOK, '        with self._removals_after_save():', '        with contextlib.nullcontext():',
             f'{HOOK_TESTS}::test_the_previous_best_survives_a_save_of_the_next_that_dies'),
    mutation('foreign-best-path-trusted', "the hook takes any path for its own (a resumed checkpoint's best path is "
             'removed wherever it points)', HOOK,
             '        return folder == osp.abspath(self.out_dir) and self._own_names.fullmatch(name) is not None',
             '        return True', f'{HOOK_TESTS}::test_a_crafted_best_path_outside_the_work_dir_is_never_removed'),
    mutation('kept-ids-deleted-at-start', "a resumed checkpoint's kept ids delete checkpoints when training starts",
             HOOK, "            hub.update_info('keep_ckpt_ids', kept[-self.max_keep_ckpts:] if valid and "
             "self.max_keep_ckpts > 0 else [])", '            pass',
             f'{HOOK_TESTS}::test_kept_ids_of_a_resumed_checkpoint_delete_nothing_at_start'),
    mutation('same-name-rotation-allowed', 'filename_tmpl without {} and max_keep_ckpts > 0 deletes each checkpoint '
             'right after writing it', HOOK, '    if max_keep_ckpts > 0 and first == second:', '    if False:',
             f'{HOOK_TESTS}::test_settings_that_lose_checkpoints_are_refused_in_one_line'),
    mutation('any-partial-removed', 'at start every .*.partial-* file of the work dir is removed (other processes\' '
             'and the user\'s too)', 'mixdet/utils/atomic_files.py',
             "        if match and owns(match['name']) and not _running(int(match['pid'])):",
             "        if match:", f'{HOOK_TESTS}::test_only_dead_partials_of_its_own_names_are_removed_at_start'),
    # --- config values
    mutation('lr-unchecked', 'lr=inf is accepted (training runs on NaN)', 'mixdet/engine/config_check.py',
             '                                      and math.isfinite(value) and value >= 0',
             '                                      and value >= 0', 'tests/test_engine/test_config_check.py',
             k='lr'),
    # --- backbones
    mutation('norm-eval-bn-only', 'norm_eval=True keeps only plain BatchNorm2d in eval mode (SyncBN trains on)',
             MIXNET, '                if isinstance(module, _BatchNorm):',
             '                if type(module) is torch.nn.BatchNorm2d:',
             f'{BACKBONE_TESTS}::test_norm_eval_reaches_sync_batchnorm'),
    mutation('falsy-overrides-dropped', 'MixConvBackbone drops overrides whose value is 0, False or empty',
             'mixdet/models/backbones/mixconv_backbone.py',
             'for key, value in forwarded.items() if value is not None})',
             'for key, value in forwarded.items() if value})',
             'tests/test_models/test_backbones/test_mixconv_backbone.py::test_falsy_overrides_are_forwarded_too'),
    # --- the audit's breakages that no test noticed (issue 20), each now with the test that does
    mutation('onnx-score-thr-ignored', 'the exported graph ignores the configured score threshold',
             'mixdet/deploy/end2end.py',
             "scores > self.test_cfg.get('score_thr', 0), deltas", 'scores > 0, deltas',
             f'{POSTPROCESSING_TESTS}::test_the_configured_score_threshold_is_the_one_the_graph_uses'),
    mutation('onnx-clip-hw-swapped', 'the exported graph clips boxes with height and width swapped',
             'mixdet/deploy/box_decode.py', 'boxes.new_tensor([width, height, width, height])',
             'boxes.new_tensor([height, width, height, width])',
             f'{POSTPROCESSING_TESTS}::test_a_non_square_input_clips_boxes_like_pytorch'),
    mutation('onnx-eval-rescale-swapped', 'test_onnx.py rescales boxes to the image with the two axes swapped',
             'tools/deployment/test_onnx.py', 'bboxes.new_tensor([1 / scale_w, 1 / scale_h])',
             'bboxes.new_tensor([1 / scale_h, 1 / scale_w])',
             f'{POSTPROCESSING_TESTS}::test_the_onnx_evaluation_rescales_each_axis_as_mmdet'),
    mutation('auto-rule-ignores-no-grad', "the 'auto' rule ignores torch.no_grad() (inference under no_grad trains' "
             'choice)', 'mixdet/ops/mixconv.py',
             '    needs_grad = torch.is_grad_enabled() and (input.requires_grad or any(w.requires_grad for w in '
             'weights))',
             '    needs_grad = input.requires_grad or any(w.requires_grad for w in weights)',
             f'{OP_TESTS}::test_cpu_auto_rule_reads_no_grad_as_inference'),
    mutation('autocast-bias-fp32', 'under autocast the bias stays float32 while the input is cast',
             'mixdet/ops/autocast.py',
             'cast_to(weights, device_type, dtype), cast_to(bias, device_type, dtype)',
             'cast_to(weights, device_type, dtype), bias', f'{AUTOCAST_TESTS}::test_a_bias_is_cast_with_the_input'),
    mutation('tf-advice-missing', "the converter's advice for tf_mixnet_* weights gives BN eps 1e-5",
             'mixdet/models/backbones/mixnet_timm.py', "padding='same', norm_cfg=dict(type='BN', eps=1e-3)",
             "padding='same', norm_cfg=dict(type='BN', eps=1e-5)",
             'tests/test_tools/test_convert_timm_mixnet.py::test_the_backbone_settings_the_weights_need_are_printed'),
    mutation('shapes-category-shift', "the shapes generator's annotations name the next category, not the drawn one",
             'mixdet/datasets/shapes.py', "category_id=cat_ids[obj['label']],",
             "category_id=cat_ids[(obj['label'] + 1) % len(cat_ids)],",
             'tests/test_datasets/test_shapes_dataset.py::test_each_annotation_names_the_shape_drawn_there'),
    mutation('mixnet-config-own-lr', 'the MixNet-S COCO config carries its own learning rate, not the baseline\'s',
             'configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py',
             '    bbox_head=dict(in_channels=None))\n',
             '    bbox_head=dict(in_channels=None))\noptim_wrapper = dict(optimizer=dict(lr=0.01))\n',
             f'{CONFIG_TESTS}::test_backbone_configs_inherit_everything_but_the_model'),
    # --- more from the parts a user meets first: deploy, datasets, configs, the CUDA planner
    mutation('planner-plans-empty-calls', 'the CUDA planner plans a call with a size of 0 (the process dies of SIGFPE)',
             'mixdet/ops/csrc/cuda/mixconv_launch.h',
             'inline bool empty_call(const MixPlan& plan) { return plan.n == 0 || plan.c == 0 || plan.h == 0 || '
             'plan.w == 0; }', 'inline bool empty_call(const MixPlan& plan) { return false; }',
             'tests/test_ops/test_cuda_plan_limits.py'),
    mutation('planner-32-bit-overflow', 'the CUDA planner takes images too large for its 32-bit indexing',
             'mixdet/ops/csrc/cuda/mixconv_launch.h',
             '  if (plan.h * plan.w > kMaxIndex || plan.c * (plan.h * plan.w) > kMaxIndex)', '  if (false)',
             'tests/test_ops/test_cuda_plan_limits.py'),
    mutation('huge-dilation-fused', "a dilation reaching far beyond the plane goes to the fused op (std::bad_alloc)",
             'mixdet/ops/mixconv.py', '    if plane is not None and reach > 2 * max(plane) + FUSED_REACH_SLACK:',
             '    if False:', f'{OP_TESTS}::test_a_huge_dilation_is_one_line_or_the_reference'),
    mutation('onnx-batchnorm-unfolded', 'the export leaves BatchNorms after split MixConvs in the graph (slower)',
             'mixdet/deploy/export.py', '    if fast_forms:\n        fold_batchnorms(model)\n', '',
             'tests/test_deploy/test_optimized_graph.py'),
    mutation('onnx-mixconv-rule-flipped', "the 'auto' MixConv export form picks 'padded' for small outputs, 'split' "
             'for large ones', 'mixdet/ops/mixconv_onnx.py',
             "form = 'split' if pixels <= AUTO_SPLIT_MAX_PIXELS else 'padded'",
             "form = 'padded' if pixels <= AUTO_SPLIT_MAX_PIXELS else 'split'",
             'tests/test_deploy/test_export_forms.py::test_mixconv_auto_rule'),
    mutation('onnx-metadata-full-path', "the exported file's metadata records the checkpoint's absolute path",
             'mixdet/deploy/metadata.py', 'CHECKPOINT: osp.basename(checkpoint_path)', 'CHECKPOINT: checkpoint_path',
             'tests/test_tools/test_deploy_tools.py::test_exported_model_is_self_describing'),
    mutation('onnx-interface-unchecked', 'an edited .onnx without the detector\'s outputs is evaluated (deep error)',
             'mixdet/deploy/onnx_file.py', "and all(isinstance(s, int) for s in shape[2:]) and outputs == ['dets', "
             "'labels']):", '):', 'tests/test_deploy/test_onnx_files.py::test_tampered_files_are_one_line_naming_them'),
    mutation('num-classes-unchecked', 'a head whose num_classes differs from the dataset\'s classes trains on',
             'mixdet/datasets/data_check_hook.py', 'and number != len(classes):', 'and False:',
             'tests/test_datasets/test_data_check.py',
             k='does_not_fit_the_data'),
    mutation('zero-byte-image-uncounted', 'a zero-byte image file is not counted (it fails later, deep in mmcv)',
             CHECKED_COCO, "                empty = os.stat(data_info['img_path']).st_size == 0",
             '                empty = False',
             'tests/test_datasets/test_bad_input.py::test_zero_byte_images_skip_in_training_and_fail_in_testing'),
]
