"""Tests of vms.custody."""
