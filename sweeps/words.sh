#!/bin/bash
# MNIST with its labels as words ('word:seven' for 'number:7'): MNIST's tokenizer and judge, its own data
# (sweeps/configs/prepare_mnist_words.py) and run (out/mnist_words_letters), and its report beside the digits'.
# About 10 min on 2 cores.
#   make study NAME=words
set -eu
export DATA_CONFIG=sweeps/configs/prepare_mnist_words.py DATA_DIR=data/mnist_words_vlm RUN_DIR=out/mnist_words_letters
make --no-print-directory eval DATASET=mnist TASKS=default IMAGE_INPUT=letters
