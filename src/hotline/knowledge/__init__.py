"""The knowledge base (知识库): articles the centre answers consultations from, and their search."""
