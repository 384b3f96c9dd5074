"""(fixtures being written)"""
