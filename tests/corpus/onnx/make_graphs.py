#!/usr/bin/python3
"""Builds the small real ONNX graphs the tests register and serve (Debian: apt-get install python3-onnx).

Each graph's weights are written out here, so a test can work out the answer it must get. Run from anywhere:
    /usr/bin/python3 tests/corpus/onnx/make_graphs.py
and commit the .onnx files beside this script.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(graph, name, opsets):
    model = helper.make_model(graph, producer_name="modelplatform-tests",
                              opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


def linear(rows_dim, name):
    """A house price: 3000 * area + 10000 * rooms - 500 * age + 20000, from one [rows, 3] float tensor."""
    weights = numpy_helper.from_array(np.array([[3000.0], [10000.0], [-500.0]], dtype=np.float32), "weights")
    bias = numpy_helper.from_array(np.array([20000.0], dtype=np.float32), "bias")
    features = helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [rows_dim, 3])
    price = helper.make_tensor_value_info("variable", TensorProto.FLOAT, [rows_dim, 1])
    nodes = [helper.make_node("MatMul", ["float_input", "weights"], ["product"]),
             helper.make_node("Add", ["product", "bias"], ["variable"])]
    save(helper.make_graph(nodes, "linear", [features], [price], [weights, bias]), name, [("", 13)])


def mlp():
    """Three classes from four measurements: a hidden layer of 8 ReLUs, then softmax (weights seeded, in mlp-weights.txt)."""
    rng = np.random.default_rng(7)
    w1 = rng.normal(size=(4, 8)).astype(np.float32)
    b1 = rng.normal(size=(8,)).astype(np.float32)
    w2 = rng.normal(size=(8, 3)).astype(np.float32)
    b2 = rng.normal(size=(3,)).astype(np.float32)
    with open(os.path.join(HERE, "mlp-weights.txt"), "w") as out:
        for name, array in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)]:
            out.write(name + " " + " ".join(repr(float(value)) for value in array.flatten()) + "\n")
    initializers = [numpy_helper.from_array(array, name) for name, array in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)]]
    measurements = helper.make_tensor_value_info("measurements", TensorProto.FLOAT, ["N", 4])
    probabilities = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])
    nodes = [helper.make_node("Gemm", ["measurements", "w1", "b1"], ["hidden"]),
             helper.make_node("Relu", ["hidden"], ["activated"]),
             helper.make_node("Gemm", ["activated", "w2", "b2"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
             helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0)]
    save(helper.make_graph(nodes, "mlp", [measurements], [label, probabilities], initializers), "mlp-classifier.onnx", [("", 13)])


def strings():
    """Churn from a plan (a string) and monthly minutes: sigmoid(plan weight + 0.01 * minutes - 1).
    Plans: basic -1, plus 0.5, pro 2; any other plan 0."""
    plan = helper.make_tensor_value_info("plan", TensorProto.STRING, ["N", 1])
    minutes = helper.make_tensor_value_info("minutes", TensorProto.FLOAT, ["N", 1])
    probability = helper.make_tensor_value_info("churn_probability", TensorProto.FLOAT, ["N", 1])
    scale = numpy_helper.from_array(np.array([0.01], dtype=np.float32), "scale")
    shift = numpy_helper.from_array(np.array([-1.0], dtype=np.float32), "shift")
    nodes = [helper.make_node("LabelEncoder", ["plan"], ["plan_weight"], domain="ai.onnx.ml",
                              keys_strings=["basic", "plus", "pro"], values_floats=[-1.0, 0.5, 2.0], default_float=0.0),
             helper.make_node("Mul", ["minutes", "scale"], ["scaled"]),
             helper.make_node("Add", ["plan_weight", "scaled"], ["sum"]),
             helper.make_node("Add", ["sum", "shift"], ["logit"]),
             helper.make_node("Sigmoid", ["logit"], ["churn_probability"])]
    save(helper.make_graph(nodes, "strings", [plan, minutes], [probability], [scale, shift]), "string-input.onnx",
         [("", 13), ("ai.onnx.ml", 2)])


def zipmap():
    """A classifier answering as skl2onnx does by default: a sequence of maps, class to probability (ZipMap)."""
    features = helper.make_tensor_value_info("float_input", TensorProto.FLOAT, ["N", 2])
    label = helper.make_tensor_value_info("output_label", TensorProto.INT64, ["N"])
    class_to_probability = onnx.TypeProto()
    class_to_probability.map_type.key_type = TensorProto.INT64
    class_to_probability.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, []))
    probabilities = helper.make_value_info("output_probability", helper.make_sequence_type_proto(class_to_probability))
    nodes = [helper.make_node("Softmax", ["float_input"], ["softmax"], axis=1),
             helper.make_node("ArgMax", ["softmax"], ["output_label"], axis=1, keepdims=0),
             helper.make_node("ZipMap", ["softmax"], ["output_probability"], domain="ai.onnx.ml", classlabels_int64s=[0, 1])]
    save(helper.make_graph(nodes, "zipmap", [features], [label, probabilities]), "zipmap-classifier.onnx", [("", 13), ("ai.onnx.ml", 1)])


linear("N", "linear-regression.onnx")
linear(1, "linear-regression-one-row.onnx")
mlp()
strings()
zipmap()
