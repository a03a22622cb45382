"""The AsyncAPI document of the socket protocols, from the handler tables and their models."""
