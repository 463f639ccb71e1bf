"""``backprop inspect``: the JSON description, and one read of the model file."""

import json

import backprop.cli.model_commands
import backprop.saving
import backprop.saving.container
import backprop.saving.model_file


def test_inspect_json(iris_model, cli, species):
    code, out, err = cli("inspect", iris_model, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format_version"] == backprop.saving.FORMAT_VERSION
    assert info["classes"] == list(species)
    assert info["metadata"]["target"] == "species" and info["parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    training = info["metadata"]["training"]
    assert training["optimizer"] == "adam" and training["lr"] == 0.001  # Adam's own default
    assert training["epochs"] == 30 and training["hidden"] == [8] and training["seed"] == 0


def test_inspect_reads_the_model_file_once(iris_model, cli, monkeypatch):
    reads = []
    real = backprop.saving.container.read_safetensors

    def counting(path, kind):
        reads.append(path)
        return real(path, kind)

    # every name the file could be read through: where it is defined, where load() finds it,
    # the package face, and the command
    for module in (backprop.saving.container, backprop.saving.model_file, backprop.saving,
                   backprop.cli.model_commands):
        monkeypatch.setattr(module, "read_safetensors", counting)
    code, out, _ = cli("inspect", iris_model)
    assert code == 0 and "parameters: 67 trainable" in out
    assert reads == [str(iris_model)]
