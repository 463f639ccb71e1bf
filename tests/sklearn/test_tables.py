"""A raw table (text, gaps, dates) through scikit-learn's Pipeline: backprop's TablePreprocessor
in front of the estimators."""

import pytest


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_raw_table_goes_through_a_pipeline_with_the_table_preprocessor():
    from sklearn.pipeline import make_pipeline

    from backprop import TablePreprocessor
    from backprop.sklearn import BackpropClassifier
    from helpers import titanic_like

    df = titanic_like(400, seed=2)
    y = df.pop("Survived").to_numpy()
    pipe = make_pipeline(TablePreprocessor(), BackpropClassifier(hidden_layer_sizes=(16,),
                                                                 max_iter=60, random_state=0))
    pipe.fit(df[:300], y[:300])
    assert pipe.score(df[300:], y[300:]) > 0.7
    assert pipe[-1].n_features_in_ == pipe[0].n_features_out
