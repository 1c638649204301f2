"""What gets fired: the scheduler (due events -> deliveries) and the dispatcher."""
