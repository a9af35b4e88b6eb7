"""Process owners' side: deploying a diagram (every check that refuses one, with the element named)
and the deployed versions. It imports the SpiffWorkflow wrapper, diagrams and the handler API."""
