"""Placeholder: being built."""

import streamlit as st

st.title("model_zoo")
st.info("This page is being built.")
