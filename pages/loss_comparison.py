"""Placeholder: being built."""

import streamlit as st

st.title("loss_comparison")
st.info("This page is being built.")
