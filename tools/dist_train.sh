#!/usr/bin/env bash
# Distributed training with torchrun (PyTorch DDP through mmengine).
#   tools/dist_train.sh CONFIG GPUS [train.py args...]
# One machine: torchrun --standalone picks a free port itself (set PORT to use a fixed one).
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT, default 29500) on every node.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
if [ "$NNODES" = 1 ] && [ -z "${PORT:-}" ]; then
    RENDEZVOUS=(--standalone)
else
    RENDEZVOUS=(--nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" --master_port="${PORT:-29500}")
fi

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
torchrun "${RENDEZVOUS[@]}" --nproc_per_node="$GPUS" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
