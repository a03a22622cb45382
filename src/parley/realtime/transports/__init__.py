"""A Parley connection over each protocol: sign-in, renewal, typed dispatch, error answers."""
