"""``backprop export``: the ONNX file of a saved model gives what ``backprop predict`` prints."""

import io

import numpy as np
import onnxruntime as ort
import pandas as pd


def test_the_cli_export_gives_the_predictions_of_backprop_predict(iris_model, iris_csv, cli,
                                                                  tmp_path):
    out = tmp_path / "iris.onnx"
    code, text, _ = cli("export", iris_model, out)
    assert code == 0
    assert text.splitlines()[0] == (f"exported {iris_model} to {out} (opset 17, IR version 8)")
    assert text.splitlines()[1:] == ["inputs: X float32[batch, 4]",
                                     "outputs: output float32[batch, 3], label string[batch]"]
    code, predicted, _ = cli("predict", iris_model, "--data", iris_csv, "--proba")
    cli_table = pd.read_csv(io.StringIO(predicted))
    X = pd.read_csv(iris_csv).drop(columns="species").to_numpy(dtype=np.float32)
    proba, label = ort.InferenceSession(str(out)).run(None, {"X": X})
    assert label.tolist() == cli_table["prediction"].tolist()
    np.testing.assert_allclose(proba, cli_table.filter(like="proba_").to_numpy(), atol=1e-5)
    code, _, err = cli("export", iris_model, iris_model)
    assert code == 1 and "an output never replaces an input" in err
