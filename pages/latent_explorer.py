"""Placeholder: being built."""

import streamlit as st

st.title("latent_explorer")
st.info("This page is being built.")
