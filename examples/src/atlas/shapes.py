class Circle:
    def __init__(self, radius):
        self.radius = radius


def area(circle):
    return 3.14159 * circle.radius**2
