"""The classic symmetric networks of the courses: Hopfield networks and restricted Boltzmann machines."""
