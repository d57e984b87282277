"""hava-cabinet: the borrower's personal account of a Kazakh microfinance organisation."""
