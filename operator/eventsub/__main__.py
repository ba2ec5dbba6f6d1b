"""`python -m eventsub`: run the operator against the current kubeconfig (or in-cluster config)."""

from eventsub.main import main

if __name__ == "__main__":
    main()
