from atlas.shapes import Circle, area


def main():
    print(area(Circle(2)))


if __name__ == "__main__":
    main()
