"""`pts report`: one self-contained HTML page of the history, for people who read no SQL."""
